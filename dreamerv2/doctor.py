"""Checks this installation: one line per check (ok / failed / note, the measured value, the fix).

  apv-doctor [--logdir logs] [--cache ~/.cache/apv]
  python -m dreamerv2.doctor
Exits non-zero if a needed check fails. `note` lines (no GPU, fp16 on a CPU, ...) are
information and never fail. MuJoCo renders in a fresh worker process: its software
renderer and TensorFlow crash in one process, so this process never renders.
"""
import argparse
import importlib.metadata
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import time

PACKAGES = ('tensorflow', 'tensorflow-probability', 'tf-keras', 'tensorboard', 'numpy', 'mujoco', 'dm-control',
            'metaworld', 'gymnasium', 'elements', 'ruamel.yaml', 'imageio', 'imageio-ffmpeg', 'tqdm')
GL_FIX = ('apt-get install libegl1 libgl1-mesa-dri libopengl0 and set MUJOCO_GL=egl '
          '(or apt-get install libosmesa6 and MUJOCO_GL=osmesa)')
MIN_FREE_GIB = 2.0
GROUPS = ('system', 'render', 'tensorflow')


class Report:

  def __init__(self, out=print):
    self.failed = 0
    self._out = out

  def line(self, status, name, value, fix=''):
    """status: ok | failed (a needed check) | note (information only)."""
    self.failed += status == 'failed'
    text = f'{status:<6}  {name:<16}  {value}'
    self._out(text + (f'  -> fix: {fix}' if fix and status != 'ok' else ''))

  def check(self, name, fn, fix='', needed=True):
    """Runs fn() -> value (or (status, value)); an exception is a failed (or note) line."""
    try:
      result = fn()
    except Exception as e:  # A check reports what broke instead of stopping the others.
      message = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
      kind = '' if isinstance(e, RuntimeError) else f'{type(e).__name__}: '  # RuntimeErrors are this file's.
      self.line('failed' if needed else 'note', name, kind + message, fix)
      return None
    status, value = result if isinstance(result, tuple) else ('ok', result)
    self.line(status, name, value, fix)
    return value


def python_version():
  if sys.version_info < (3, 10):
    raise RuntimeError(f'Python {platform.python_version()} is older than 3.10')
  return f'{platform.python_version()} ({sys.executable})'


def package_versions():
  found, missing = [], []
  for name in PACKAGES:
    try:
      found.append(f'{name} {importlib.metadata.version(name)}')
    except importlib.metadata.PackageNotFoundError:
      missing.append(name)
  if missing:
    raise RuntimeError('not installed: ' + ', '.join(missing))
  return ', '.join(found)


def tf_devices():
  import tensorflow as tf
  info = tf.sysconfig.get_build_info()
  gpus = tf.config.list_physical_devices('GPU')
  cuda = (f"built with CUDA {info.get('cuda_version', '-')}, cuDNN {info.get('cudnn_version', '-')}"
          if info.get('is_cuda_build') else 'CPU-only build')
  if not gpus:
    return 'note', f'TensorFlow {tf.__version__}: no GPU, CPU only ({os.cpu_count()} cores); {cuda}'
  from dreamerv2 import banner
  return f'TensorFlow {tf.__version__}: {banner.devices()}; {cuda}'


def xla_step():
  """A tiny conv + recurrent-matmul train step, compiled with XLA; returns compile and step times."""
  import tensorflow as tf
  rng = tf.random.Generator.from_seed(0)
  conv = tf.Variable(rng.normal([4, 4, 3, 8]) * 0.1)
  cell = tf.Variable(rng.normal([8 * 31 * 31, 16]) * 0.01)
  images = rng.uniform([4, 64, 64, 3])

  @tf.function(jit_compile=True)
  def step(x):
    with tf.GradientTape() as tape:
      h = tf.nn.elu(tf.nn.conv2d(x, conv, 2, 'VALID'))
      loss = tf.reduce_mean(tf.square(tf.tanh(tf.reshape(h, [4, -1]) @ cell)))
    grads = tape.gradient(loss, [conv, cell])
    for var, grad in zip([conv, cell], grads):
      var.assign_sub(1e-3 * grad)
    return loss

  start = time.perf_counter()
  loss = float(step(images))
  compiled = time.perf_counter() - start
  start = time.perf_counter()
  step(images)
  if not loss == loss:
    raise RuntimeError('the compiled step returned NaN')
  return f'compiled in {compiled:.2f} s, step {1e3 * (time.perf_counter() - start):.1f} ms'


def precision(dtype_name):
  import tensorflow as tf
  dtype = getattr(tf, dtype_name)
  x = tf.cast(tf.random.stateless_uniform([256, 256], [0, 1]), dtype)
  tf.matmul(x, x)  # Warm-up: the first call includes kernel selection.
  start = time.perf_counter()
  y = tf.matmul(x, x)
  float(tf.reduce_sum(tf.cast(y, tf.float32)))
  took = 1e3 * (time.perf_counter() - start)
  gpus = tf.config.list_physical_devices('GPU')
  if gpus:
    capability = tf.config.experimental.get_device_details(gpus[0]).get('compute_capability')
    fast = capability and capability >= ((8, 0) if dtype_name == 'bfloat16' else (7, 0))
    hint = f'GPU compute capability {capability}'
  else:
    flags = pathlib.Path('/proc/cpuinfo').read_text() if pathlib.Path('/proc/cpuinfo').exists() else ''
    fast = dtype_name == 'bfloat16' and ('avx512_bf16' in flags or 'amx_bf16' in flags)
    hint = ('CPU with AVX512_BF16/AMX' if fast else 'CPU without bf16 instructions') if dtype_name == 'bfloat16' \
        else 'CPU: float16 is emulated (5-7x slower than float32); use it on GPUs'
  label = {'bfloat16': 'bf16', 'float16': 'fp16'}[dtype_name]
  return ('ok' if fast else 'note'), f'{label} matmul runs ({took:.1f} ms, 256x256); {hint}'


def render_worker():
  """`python -m dreamerv2.doctor --render`: renders one frame per suite, prints name seconds shape."""
  os.environ.setdefault('MUJOCO_GL', 'egl')
  from dreamerv2.envs.dmc import DMC
  from dreamerv2.envs.metaworld import MetaWorld
  for name, make in (('metaworld', lambda: MetaWorld('reach')), ('dmc', lambda: DMC('walker_walk'))):
    start = time.perf_counter()
    env = make()
    image = env.reset()['image']
    made = time.perf_counter() - start
    start = time.perf_counter()
    image = env.render()
    print(name, f'{made:.2f}', f'{1e3 * (time.perf_counter() - start):.1f}', 'x'.join(map(str, image.shape)),
          int(image.std() > 0), flush=True)
    env.close()


def rendering(report):
  backend = os.environ.get('MUJOCO_GL', 'egl (default)')
  env = {**os.environ, 'PYTHONPATH': str(pathlib.Path(__file__).resolve().parent.parent) + os.pathsep
         + os.environ.get('PYTHONPATH', '')}
  try:
    proc = subprocess.run([sys.executable, '-m', 'dreamerv2.doctor', '--render'], capture_output=True, text=True,
                          timeout=300, env=env)
  except subprocess.TimeoutExpired:
    report.line('failed', 'mujoco-gl', f'MUJOCO_GL={backend}: the render worker did not finish in 300 s', GL_FIX)
    return
  rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.strip()}
  for suite in ('metaworld', 'dmc'):
    if suite in rows:
      _, made, frame, shape, nonblank = rows[suite]
      status = 'ok' if nonblank == '1' else 'failed'
      report.line(status, f'render-{suite}', f'MUJOCO_GL={backend}: {shape} frame in a worker, env built in '
                  f'{made} s, one frame {frame} ms' + ('' if status == 'ok' else ' (blank image)'), GL_FIX)
    else:
      errors = [l for l in proc.stderr.strip().splitlines() if l.strip() and not l.startswith(' ')]
      reason = errors[-1] if errors else f'worker exited with {proc.returncode}'
      report.line('failed', f'render-{suite}', f'MUJOCO_GL={backend}: {reason}', GL_FIX)


def ffmpeg():
  path = shutil.which('ffmpeg')
  if not path:
    raise RuntimeError('ffmpeg not on PATH (TensorBoard video summaries need the system ffmpeg)')
  version = subprocess.run([path, '-version'], capture_output=True, text=True, timeout=30).stdout.split('\n')[0]
  return f'{path}: {version}'


def free_disk(label, path):
  path = pathlib.Path(path).expanduser().resolve()
  probe = path
  while not probe.exists():
    probe = probe.parent
  free = shutil.disk_usage(probe).free / 2 ** 30
  value = f'{free:.1f} GiB free at {path}' + ('' if probe == path else f' (checked at {probe})')
  if free < MIN_FREE_GIB:
    raise RuntimeError(f'{value}; needs at least {MIN_FREE_GIB} GiB for {label}')
  return value


def main(argv=None):
  parser = argparse.ArgumentParser(prog='apv-doctor', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--logdir', default='logs', help='where runs will write (free disk is checked there)')
  parser.add_argument('--cache', default=os.environ.get('APV_CACHE') or '~/.cache/apv',
                      help='the video cache root (video.cache; default $APV_CACHE, else ~/.cache/apv)')
  parser.add_argument('--only', nargs='+', choices=GROUPS, default=GROUPS, help='run only these groups of checks')
  parser.add_argument('--render', action='store_true', help=argparse.SUPPRESS)  # The render worker.
  args = parser.parse_args(argv)
  if args.render:
    return render_worker()
  report = Report()
  if 'system' in args.only:
    report.check('python', python_version, 'install Python >= 3.10 (apt-get install python3 python3-venv)')
    report.check('packages', package_versions, 'bash scripts/setup.sh (or pip install -r requirements.txt)')
  # Rendering before TensorFlow loads: the worker is a fresh interpreter either way, but this
  # process then starts it without TensorFlow's threads around.
  if 'render' in args.only:
    rendering(report)
  if 'system' in args.only:
    report.check('ffmpeg', ffmpeg, 'apt-get install ffmpeg')
    report.check('disk-logdir', lambda: free_disk('logs', args.logdir), 'free space or pass another --logdir')
    report.check('disk-cache', lambda: free_disk('the video cache', args.cache), 'free space or set --video.cache')
  if 'tensorflow' in args.only:
    tensorflow_checks(report)
  print(f'\n{report.failed} needed check(s) failed.' if report.failed else '\nAll needed checks passed.')
  sys.exit(1 if report.failed else 0)


def tensorflow_checks(report):
  if report.check('tensorflow', tf_devices, 'pip install tensorflow[and-cuda] for GPUs; check nvidia-smi') is None:
    return
  import tensorflow as tf
  gpu = bool(tf.config.list_physical_devices('GPU'))  # `jit: auto` turns XLA on with a GPU only.
  report.check('xla', xla_step, 'run with --jit False' + ('' if gpu else ' (XLA is off on CPU by default)'), needed=gpu)
  report.check('bf16', lambda: precision('bfloat16'), 'use --precision 32', needed=False)
  report.check('fp16', lambda: precision('float16'), 'use --precision 32 or bf16', needed=False)


if __name__ == '__main__':
  main()
