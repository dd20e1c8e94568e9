"""SIGINT and SIGTERM: stop at a safe point, save, exit 130/143 with one line.

Entry points call `install()`. Outside a `deferred()` section a signal raises
`Interrupted` at once (nothing to save yet: setup, graph building, data
conversion). Inside one, as the training loops are, the first signal only sets a
flag that the loop reads at safe points through `check()` (between env steps and
between updates), so the loop can save a checkpoint and close its env workers
before it leaves. A second Ctrl-C (or SIGTERM) exits at once without saving.
"""
import contextlib
import os
import signal
import sys

CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(Exception):
  """Raised at a safe point after SIGINT/SIGTERM; entry points exit with `code`."""

  def __init__(self, signum):
    self.signum = signum
    self.name = signal.Signals(signum).name
    self.code = CODES[signum]
    super().__init__(f'{self.name} received')


_state = {'installed': False, 'signum': None, 'deferred': 0}


def _handler(signum, frame):
  if _state['signum'] is not None:
    name = signal.Signals(signum).name
    print(f'\n{name} again: exiting now without saving (the last checkpoint is kept).', file=sys.stderr, flush=True)
    os._exit(CODES[signum])
  _state['signum'] = signum
  if not _state['deferred']:
    raise Interrupted(signum)


def install():
  """Routes SIGINT and SIGTERM through this module (main thread only)."""
  _state.update(installed=True, signum=None, deferred=0)
  signal.signal(signal.SIGINT, _handler)
  signal.signal(signal.SIGTERM, _handler)


def _after_done(signum, frame):
  print(f'\n{signal.Signals(signum).name} after the run finished: exiting now.', file=sys.stderr, flush=True)
  os._exit(CODES[signum])


def done():
  """The work is saved and over: a signal during shutdown (thread joins, env teardown)
  exits at once with one line instead of raising into interpreter finalisation."""
  if _state['installed']:
    signal.signal(signal.SIGINT, _after_done)
    signal.signal(signal.SIGTERM, _after_done)


def requested():
  return _state['signum'] is not None


def check():
  """Raises Interrupted if a signal arrived; a no-op otherwise (and when not installed)."""
  if _state['signum'] is not None:
    raise Interrupted(_state['signum'])


@contextlib.contextmanager
def deferred():
  _state['deferred'] += 1
  try:
    yield
  finally:
    _state['deferred'] -= 1


def exit_line(error, what):
  """Prints the one line for an interrupted run and exits with 130 or 143."""
  print(f'Interrupted ({error.name}): {what}', file=sys.stderr, flush=True)
  sys.exit(error.code)
