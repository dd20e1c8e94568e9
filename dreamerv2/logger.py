"""Logging through `elements`: terminal, metrics.jsonl and TensorBoard (+ mp4 files)."""
import contextlib
import json
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


def make_logger(logdir, step_fn, tensorboard=True, terminal_pattern=r'.*'):
  outputs = [TerminalOutput(terminal_pattern),
             elements.logger.JSONLOutput(str(logdir), 'metrics.jsonl')]
  if tensorboard:
    with _keep_gpus_visible():
      outputs.append(elements.logger.TensorBoardOutput(str(logdir), fps=10))
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


def append_jsonl(path, record):
  with open(path, 'a') as f:
    f.write(json.dumps(record) + '\n')


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
