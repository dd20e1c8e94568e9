"""Environment worker process: `python -m dreamerv2.envs.worker`.

Speaks length-prefixed pickles over stdin/stdout. Started with a fresh
interpreter (not `multiprocessing`), so it never imports TensorFlow whatever the
parent's main module imports. Its own prints go to stderr.
"""
import importlib
import os
import pickle
import signal
import struct
import sys
import traceback


def send(stream, message):
  data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
  stream.write(struct.pack('<Q', len(data)) + data)
  stream.flush()


def recv(stream):
  header = _read_exact(stream, 8)
  if header is None:
    return None
  return pickle.loads(_read_exact(stream, struct.unpack('<Q', header)[0]))


def _read_exact(stream, size):
  chunks = []
  while size:
    chunk = stream.read(size)
    if not chunk:
      return None
    chunks.append(chunk)
    size -= len(chunk)
  return b''.join(chunks)


def make(suite, kwargs):
  from dreamerv2.envs import SUITES
  module, cls = SUITES[suite].split(':')
  return getattr(importlib.import_module(module), cls)(**kwargs)


def main():
  # The main process decides when to stop; a stray SIGINT must not kill a worker
  # mid-step or print a KeyboardInterrupt traceback.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    serve()
  except (BrokenPipeError, EOFError):
    pass  # The main process is gone (killed, or exited at a second Ctrl-C): nothing to answer.


def serve():
  inp = sys.stdin.buffer
  out = os.fdopen(os.dup(1), 'wb')
  os.dup2(2, 1)  # Anything the env prints goes to stderr, not into the protocol.
  env = None
  while True:
    message = recv(inp)
    if message is None:
      break
    method, args = message
    try:
      if method == 'make':
        env = make(*args)
        if 'tensorflow' in sys.modules:
          raise RuntimeError('TensorFlow was imported in an env worker; MuJoCo rendering would crash.')
        result = {'obs_space': env.obs_space, 'act_dim': env.act_dim}
      elif method == 'close':
        env and env.close()
        send(out, ('ok', None))
        break
      else:
        result = getattr(env, method)(*args)
      send(out, ('ok', result))
    except Exception as e:
      send(out, ('error', (f'{type(e).__name__}: {e}', traceback.format_exc())))


if __name__ == '__main__':
  main()
