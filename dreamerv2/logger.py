"""Logging through `elements`: terminal, metrics.jsonl, TensorBoard, optionally W&B (+ mp4 files)."""
import contextlib
import pathlib
import re

import elements
import numpy as np


class FrameCounter:
  """The logger's step: env frames, read from a callable."""

  def __init__(self, fn):
    self._fn = fn

  def __int__(self):
    return int(self._fn())


@contextlib.contextmanager
def _keep_gpus_visible():
  # elements' TensorBoardOutput hides every GPU from TensorFlow in its constructor,
  # which would silently move training to the CPU on a GPU machine.
  import tensorflow as tf
  original = tf.config.set_visible_devices
  tf.config.set_visible_devices = lambda *args, **kwargs: None
  try:
    yield
  finally:
    tf.config.set_visible_devices = original


class TerminalOutput(elements.logger.TerminalOutput):
  """Prints only the metrics matching `pattern`, and nothing when none match."""

  def __init__(self, pattern=r'.*'):
    super().__init__(pattern)
    self._regex = re.compile(pattern)

  def __call__(self, summaries):
    summaries = [s for s in summaries if self._regex.search(s[1])]
    if summaries:
      super().__call__(summaries)


def check_wandb(config):
  """W&B is optional and not a dependency: enabled without the package is a one-line error, up front."""
  if not config.wandb.enabled:
    return
  from .errors import UserError
  try:
    import wandb  # noqa: F401
  except ImportError:
    raise UserError('wandb.enabled is True but the wandb package is not installed: pip install wandb, '
                    'or drop --wandb.enabled.') from None
  if config.wandb.mode not in ('offline', 'online'):
    raise UserError(f"wandb.mode is '{config.wandb.mode}'; expected offline or online.")


def wandb_output(logdir, config):
  """elements' W&B output for a run: one W&B run per logdir (resumed with it), files under the logdir.
  Offline mode needs no network; `wandb sync LOGDIR/wandb/offline-run-*` uploads later."""
  check_wandb(config)
  name = f'{config.method}/{config.task}/{config.seed}'
  import hashlib
  digest = hashlib.sha1(str(pathlib.Path(logdir).resolve()).encode()).hexdigest()[:8]
  run_id = f'{config.method}-{config.task}-{config.seed}-{digest}'
  return elements.logger.WandBOutput(
      name, project=config.wandb.project, entity=config.wandb.entity or None, mode=config.wandb.mode,
      dir=str(logdir), id=run_id, resume='allow', group=f'{config.method} [{config.preset}]',
      config=dict(config.flat))


def make_logger(logdir, step_fn, tensorboard=True, terminal_pattern=r'.*', config=None):
  outputs = [TerminalOutput(terminal_pattern),
             elements.logger.JSONLOutput(str(logdir), 'metrics.jsonl')]
  if tensorboard:
    with _keep_gpus_visible():
      outputs.append(elements.logger.TensorBoardOutput(str(logdir), fps=10))
  if config is not None and config.wandb.enabled:
    outputs.append(wandb_output(logdir, config))
  return elements.Logger(FrameCounter(step_fn), outputs)


def upscale(frames, min_size=256):
  """[T, H, W, C] -> nearest-neighbour upscaled by the smallest integer factor that makes
  both sides at least `min_size` (64 px frames are too small to watch)."""
  frames = np.asarray(frames)
  factor = max(1, -(-min_size // min(frames.shape[1:3])))
  return frames.repeat(factor, axis=1).repeat(factor, axis=2) if factor > 1 else frames


def write_video(path, frames, fps=10, min_size=256):
  """frames: [T, H, W, 3] float in [0, 1] or uint8 -> mp4 upscaled to >= min_size px, written atomically."""
  import imageio
  frames = np.asarray(frames)
  if frames.dtype != np.uint8:
    frames = (np.clip(frames, 0, 1) * 255).astype(np.uint8)
  frames = upscale(frames, min_size)
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name('tmp-' + path.name)
  imageio.mimwrite(tmp, list(frames), fps=fps, macro_block_size=1)
  tmp.replace(path)


class Mean:
  """Averages scalar metrics between writes."""

  def __init__(self):
    self._sums, self._counts = {}, {}

  def add(self, metrics):
    for key, value in metrics.items():
      value = float(np.asarray(value, np.float64).mean())
      self._sums[key] = self._sums.get(key, 0.0) + value
      self._counts[key] = self._counts.get(key, 0) + 1

  def result(self):
    result = {k: self._sums[k] / self._counts[k] for k in self._sums}
    self._sums, self._counts = {}, {}
    return result
