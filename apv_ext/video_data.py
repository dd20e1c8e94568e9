"""Video datasets for action-free pre-training: npz folders, video files, RLBench demos.

One interface for every format: `discover()` lists the videos under a path without
decoding them, `VideoDataset` checks them, keeps a few out for validation and
streams `[B, T, 64, 64, 3]` uint8 windows with bounded memory (a small buffer of
decoded videos is refreshed from a shuffled stream, so RAM does not grow with the
number of videos).
"""
import pathlib
import re
import warnings
import zipfile

import numpy as np

from dreamerv2 import replay
from dreamerv2.errors import UserError

VIDEO_EXTS = ('.mp4', '.webm', '.avi', '.gif', '.mov', '.mkv')
RLBENCH_CAMERAS = ('front', 'left_shoulder', 'overhead', 'right_shoulder', 'wrist')


class BadVideo(Exception):
  """A video that cannot be used; the message says why."""


def resize_frames(frames, size):
  """Center-crops [N, H, W, C] frames to a square and resizes them with antialiasing."""
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] not in (3, 4):
    raise BadVideo(f'expected frames [N, H, W, 3], got shape {frames.shape}')
  frames = frames[..., :3]
  if frames.dtype != np.uint8:
    if np.issubdtype(frames.dtype, np.floating) and frames.max() <= 1.0:
      frames = frames * 255
    frames = np.clip(frames, 0, 255).astype(np.uint8)
  _, h, w, _ = frames.shape
  if (h, w) == (size, size):
    return frames
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  frames = frames[:, top: top + side, left: left + side]
  from PIL import Image
  return np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.LANCZOS)) for f in frames])


class NpzVideo:
  """An `.npz` file with an `image` array [N, H, W, 3] (other keys are ignored)."""

  def __init__(self, path):
    self.path = pathlib.Path(path)
    self.name = str(self.path)

  def count(self):
    """Frames in `image`, read from the array header without decompressing it."""
    try:
      with zipfile.ZipFile(self.path) as archive:
        if 'image.npy' not in archive.namelist():
          raise BadVideo("no 'image' array")
        with archive.open('image.npy') as f:
          version = np.lib.format.read_magic(f)
          read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
          shape, _, _ = read(f)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
      raise BadVideo(f'unreadable npz ({e})')
    if len(shape) != 4:
      raise BadVideo(f"'image' has shape {shape}, expected [N, H, W, 3]")
    return shape[0]

  def load(self, size):
    try:
      with np.load(self.path) as data:
        return resize_frames(data['image'], size)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
      raise BadVideo(f'unreadable npz ({e})')


class FileVideo:
  """A video file decoded with imageio (ffmpeg for mp4/webm/avi, pillow for gif)."""

  def __init__(self, path):
    self.path = pathlib.Path(path)
    self.name = str(self.path)
    self._frames = None

  def count(self):
    import imageio.v3 as iio
    try:
      if self.path.suffix.lower() == '.gif':
        return int(iio.improps(self.path, plugin='pillow').shape[0])
      import imageio_ffmpeg
      return int(imageio_ffmpeg.count_frames_and_secs(str(self.path))[0])
    except Exception as e:  # Decoders raise many types for corrupt files.
      raise BadVideo(f'unreadable video ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})')

  def load(self, size):
    import imageio.v3 as iio
    try:
      plugin = 'pillow' if self.path.suffix.lower() == '.gif' else 'FFMPEG'
      frames = iio.imread(self.path, plugin=plugin, index=None) if plugin == 'pillow' else np.stack(
          list(iio.imiter(self.path, plugin=plugin)))
    except Exception as e:
      raise BadVideo(f'unreadable video ({type(e).__name__})')
    return resize_frames(frames, size)


class FramesVideo:
  """A folder of numbered PNG frames (`0.png` ... `N-1.png`), as RLBench writes them."""

  def __init__(self, folder):
    self.path = pathlib.Path(folder)
    self.name = str(self.path)

  def _files(self):
    files = [p for p in self.path.iterdir() if p.suffix.lower() == '.png' and p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))

  def count(self):
    files = self._files()
    if [int(p.stem) for p in files] != list(range(len(files))):
      raise BadVideo('frames are not numbered 0..N-1')
    return len(files)

  def load(self, size):
    from PIL import Image
    try:
      frames = [np.asarray(Image.open(p).convert('RGB')) for p in self._files()]
    except OSError as e:
      raise BadVideo(f'unreadable frame ({e})')
    return resize_frames(np.stack(frames), size)


def detect_format(path):
  path = pathlib.Path(path)
  if path.is_file():
    return 'npz' if path.suffix == '.npz' else 'video'
  if any(path.glob('*/variation*/episodes/episode*')) or any(path.glob('variation*/episodes/episode*')):
    return 'rlbench'
  if any(path.glob('*.npz')) or any(path.glob('train_episodes/*.npz')):
    return 'npz'
  if any(p.suffix.lower() in VIDEO_EXTS for p in path.rglob('*')):
    return 'video'
  return None


def discover(path, fmt='auto', cameras=RLBENCH_CAMERAS):
  """Lists the videos under `path` (not decoded). Returns (videos, format)."""
  path = pathlib.Path(path).expanduser()
  if not path.exists():
    raise UserError(f'Video dataset {path} does not exist.')
  if fmt == 'auto':
    fmt = detect_format(path)
  if fmt == 'npz':
    if path.is_file():
      return [NpzVideo(path)], fmt
    root = path / 'train_episodes' if (path / 'train_episodes').is_dir() else path
    return [NpzVideo(p) for p in sorted(root.glob('*.npz'))], fmt
  if fmt == 'video':
    files = [path] if path.is_file() else sorted(p for p in path.rglob('*') if p.suffix.lower() in VIDEO_EXTS)
    return [FileVideo(p) for p in files], fmt
  if fmt == 'rlbench':
    unknown = set(cameras) - set(RLBENCH_CAMERAS)
    if unknown:
      raise UserError(f'Unknown RLBench cameras {sorted(unknown)}; expected some of {list(RLBENCH_CAMERAS)}.')
    episodes = sorted(set(path.glob('*/variation*/episodes/episode*')) | set(path.glob('variation*/episodes/episode*')))
    videos = [FramesVideo(ep / f'{cam}_rgb') for ep in episodes for cam in cameras if (ep / f'{cam}_rgb').is_dir()]
    return videos, fmt
  if fmt is None:
    fmt = 'nothing usable'
  raise UserError(
      f'No videos found in {path} ({fmt}): expected .npz files with an image array [N, H, W, 3] '
      f'(flat or in train_episodes/), video files ({", ".join(VIDEO_EXTS)}), or an RLBench dataset '
      '(<task>/variation<v>/episodes/episode<i>/<camera>_rgb/<frame>.png).')


class VideoDataset:
  """Checks the videos under `path`, splits off a validation set and streams windows."""

  def __init__(self, path, length, batch, size=64, fmt='auto', cameras=RLBENCH_CAMERAS, heldout=4,
               prioritize_ends=False, buffer=32, refresh=8, seed=0, log=print):
    self.length, self.batch, self.size = length, batch, size
    self._prioritize_ends = prioritize_ends
    self._buffer_size, self._refresh = buffer, refresh
    self._rng = np.random.default_rng(seed)
    videos, self.format = discover(path, fmt, cameras)
    usable, frames, skipped = [], 0, {'too short': 0, 'unreadable': 0}
    for video in videos:
      try:
        count = video.count()
      except BadVideo as e:
        warnings.warn(f'Skipping {video.name}: {e}', stacklevel=2)
        skipped['unreadable'] += 1
        continue
      if count < length:
        skipped['too short'] += 1
        continue
      usable.append((video, count))
      frames += count
    if not usable:
      raise UserError(
          f'No usable videos in {path} ({self.format}, {len(videos)} found; {skipped["too short"]} shorter than '
          f'{length} frames, {skipped["unreadable"]} unreadable): need videos of at least {length} frames.')
    order = self._rng.permutation(len(usable))
    heldout = min(heldout, len(usable) - 1)
    self.valid = [usable[i][0] for i in order[:heldout]]
    self.train = [usable[i][0] for i in order[heldout:]]
    self.skipped = skipped
    self.num_frames = frames
    log(f'Video dataset {path} ({self.format}): using {len(usable)} videos with {frames} frames '
        f'({len(self.train)} train, {len(self.valid)} validation); skipped {skipped["too short"]} shorter than '
        f'{length} frames and {skipped["unreadable"]} unreadable.')

  def _window(self, frames):
    start = replay.window_start(len(frames), self.length, self._prioritize_ends, self._rng)
    return frames[start: start + self.length]

  def _load(self, video):
    try:
      frames = video.load(self.size)
    except BadVideo as e:
      warnings.warn(f'Skipping {video.name}: {e}', stacklevel=2)
      return None
    return frames if len(frames) >= self.length else None

  def windows(self, videos=None, shuffle=True):
    """Infinite generator of single windows [T, S, S, 3] from a refreshed buffer of videos."""
    videos = self.train if videos is None else videos
    def stream():
      while True:
        order = self._rng.permutation(len(videos)) if shuffle else range(len(videos))
        for i in order:
          yield videos[i]
    source = stream()
    buffer = []
    for _ in range(len(videos) * 2):
      if len(buffer) >= min(self._buffer_size, len(videos)):
        break
      frames = self._load(next(source))
      if frames is not None:
        buffer.append(frames)
    if not buffer:
      raise UserError('None of the dataset videos could be decoded.')
    drawn = 0
    while True:
      yield self._window(buffer[self._rng.integers(len(buffer))])
      drawn += 1
      if len(videos) > len(buffer) and drawn % self._refresh == 0:
        frames = self._load(next(source))
        if frames is not None:
          buffer[self._rng.integers(len(buffer))] = frames

  def batches(self, videos=None):
    """Infinite generator of {'image': [B, T, S, S, 3] uint8, 'is_first': [B, T] bool}."""
    windows = self.windows(videos)
    is_first = np.zeros((self.batch, self.length), bool)
    is_first[:, 0] = True
    while True:
      yield {'image': np.stack([next(windows) for _ in range(self.batch)]), 'is_first': is_first}

  def dataset(self, videos=None, prefetch=4):
    import tensorflow as tf
    signature = {'image': tf.TensorSpec((self.batch, self.length, self.size, self.size, 3), tf.uint8),
                 'is_first': tf.TensorSpec((self.batch, self.length), tf.bool)}
    return tf.data.Dataset.from_generator(lambda: self.batches(videos), output_signature=signature).prefetch(prefetch)

  def validation_batch(self):
    """A fixed validation batch: consecutive windows of the held-out videos, cycled to fill B."""
    videos = self.valid or self.train[:1]
    frames = [f for f in (self._load(v) for v in videos) if f is not None]
    windows = []
    for i in range(self.batch):
      video = frames[i % len(frames)]
      start = min((i // len(frames)) * self.length, len(video) - self.length)
      windows.append(video[start: start + self.length])
    is_first = np.zeros((self.batch, self.length), bool)
    is_first[:, 0] = True
    return {'image': np.stack(windows), 'is_first': is_first}
