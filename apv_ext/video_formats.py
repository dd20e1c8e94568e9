"""Video sources on disk: npz files, video files, RLBench PNG folders, decoded to [N, S, S, 3] uint8.

`discover()` lists the videos under a path without decoding them; each video knows
its `key` (path relative to the dataset root), its `identity()` (bytes, mtime,
files: what tells a modified source apart) and how to `load()` itself. `to_rgb8`
turns any image array we accept into RGB uint8 frames, or says why it cannot.
"""
import os
import pathlib
import zipfile
import zlib

import numpy as np

from dreamerv2.errors import UserError

VIDEO_EXTS = ('.mp4', '.webm', '.avi', '.gif', '.mov', '.mkv')
RLBENCH_CAMERAS = ('front', 'left_shoulder', 'overhead', 'right_shoulder', 'wrist')
CHANNELS = (1, 3, 4)  # Gray, RGB, RGBA.


class BadVideo(Exception):
  """A video that cannot be used; the message says why."""


def to_rgb8(frames):
  """Any accepted image array -> RGB uint8 [N, H, W, 3]; raises BadVideo naming what is wrong.

  Layouts: [N, H, W] (gray), [N, H, W, C] or [N, C, H, W] with C in 1, 3, 4 (alpha is
  dropped). Values: uint8; uint16 (16-bit, scaled to 8 bits); other integers within
  0..255; floats in [0, 1] (scaled by 255) or [0, 255].
  """
  a = np.asarray(frames)
  if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
    raise BadVideo(f'unsupported dtype {a.dtype}; expected uint8, uint16 or float images')
  if a.ndim == 3:
    a = a[..., None]
  layout = f'shape {a.shape}; expected [N, H, W, C] or [N, C, H, W] with C in 1, 3, 4'
  if a.ndim != 4:
    raise BadVideo(f'unsupported {layout}')
  last, second = a.shape[3] in CHANNELS, a.shape[1] in CHANNELS
  if last == second:  # Neither, or both (a 1-4 pixel image): no safe reading.
    raise BadVideo(f'{"ambiguous" if last else "unsupported"} {layout}')
  if second:
    a = a.transpose(0, 2, 3, 1)
  if a.size == 0:
    return np.zeros(a.shape[:3] + (3,), np.uint8)
  if a.dtype == np.uint16:
    a = (a >> 8).astype(np.uint8)  # The top byte, as Pillow reduces 16-bit RGB PNGs.
  elif np.issubdtype(a.dtype, np.floating):
    if not np.isfinite(a).all():
      raise BadVideo('NaN or infinite pixel values')
    low, high = float(a.min()), float(a.max())
    if low < 0 or high > 255:
      raise BadVideo(f'float pixel values in [{low:g}, {high:g}]; expected [0, 1] or [0, 255]')
    # A [0, 255] video whose every pixel is <= 1 (near black) is read as [0, 1]: no other clue exists.
    a = np.round(a * 255 if high <= 1.0 else a).astype(np.uint8)
  elif a.dtype != np.uint8:
    low, high = int(a.min()), int(a.max())
    if low < 0 or high > 255:
      raise BadVideo(f'{a.dtype} pixel values in [{low}, {high}]; expected 0..255 (store 16-bit video as uint16)')
    a = a.astype(np.uint8)
  if a.shape[3] == 1:
    return np.repeat(a, 3, axis=3)
  return np.ascontiguousarray(a[..., :3])


def resize_frames(frames, size):
  """Center-crops RGB uint8 [N, H, W, 3] frames to a square and resizes them with antialiasing."""
  _, h, w, _ = frames.shape
  if (h, w) == (size, size):
    return frames
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  frames = frames[:, top: top + side, left: left + side]
  from PIL import Image
  return np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.LANCZOS)) for f in frames])


def _stat(path):
  stat = os.stat(path)
  return stat.st_size, stat.st_mtime_ns


class NpzVideo:
  """An `.npz` file with an `image` array (other keys are ignored)."""

  def __init__(self, path, key):
    self.path, self.key = pathlib.Path(path), key

  def identity(self):
    return [*_stat(self.path), 1]

  def load(self, size):
    try:
      with np.load(self.path) as data:
        if 'image' not in data.files:
          raise BadVideo(f"no 'image' array (keys: {', '.join(data.files) or 'none'})")
        frames = data['image']
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
      # Includes members that only fail when decompressed, and object (pickled) arrays.
      raise BadVideo(f'unreadable npz ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})')
    return resize_frames(to_rgb8(frames), size)


class FileVideo:
  """A video file decoded with imageio (ffmpeg for mp4/webm/avi/mov/mkv, pillow for gif)."""

  def __init__(self, path, key):
    self.path, self.key = pathlib.Path(path), key

  def identity(self):
    return [*_stat(self.path), 1]

  def load(self, size):
    import imageio.v3 as iio
    try:
      if self.path.suffix.lower() == '.gif':
        frames = iio.imread(self.path, plugin='pillow', index=None, mode='RGB')
      else:
        frames = np.stack(list(iio.imiter(self.path, plugin='FFMPEG')))
    except Exception as e:  # Decoders raise many types for corrupt files.
      raise BadVideo(f'unreadable video ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})')
    return resize_frames(to_rgb8(frames), size)


def _png_array(path):
  """One PNG frame as an array that keeps its bit depth (Pillow's convert('RGB') clips 16-bit gray)."""
  from PIL import Image
  with Image.open(path) as image:
    if image.mode.startswith('I;16'):
      return np.asarray(image).astype(np.uint16)
    if image.mode in ('I', 'F'):
      return np.asarray(image)
    return np.asarray(image.convert('RGBA' if 'A' in image.mode or image.mode == 'P' else 'RGB'))


class FramesVideo:
  """A folder of numbered PNG frames (`0.png` ... `N-1.png`), as RLBench writes them."""

  def __init__(self, folder, key):
    self.path, self.key = pathlib.Path(folder), key

  def _files(self):
    files = [p for p in self.path.iterdir() if p.suffix.lower() == '.png' and p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))

  def identity(self):
    stats = [_stat(p) for p in self._files()]
    return [sum(s for s, _ in stats), max((m for _, m in stats), default=0), len(stats)]

  def load(self, size):
    files = self._files()
    if [int(p.stem) for p in files] != list(range(len(files))):
      raise BadVideo('frames are not numbered 0..N-1')
    try:
      frames = [_png_array(p) for p in files]
    except (OSError, ValueError, zlib.error) as e:
      raise BadVideo(f'unreadable frame ({type(e).__name__}: {e})')
    if not frames:
      raise BadVideo('no frames')
    if len({(f.shape, f.dtype) for f in frames}) > 1:
      raise BadVideo('frames differ in size or bit depth')
    return resize_frames(to_rgb8(np.stack(frames)), size)


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
  """Lists the videos under `path` (not decoded), sorted by key. Returns (videos, format)."""
  path = pathlib.Path(path).expanduser().resolve()
  if not path.exists():
    raise UserError(f'Video dataset {path} does not exist.')
  if fmt == 'auto':
    fmt = detect_format(path)
  key = lambda p: str(p.relative_to(path)) if p != path else p.name
  if fmt == 'npz':
    if path.is_file():
      return [NpzVideo(path, key(path))], fmt
    root = path / 'train_episodes' if (path / 'train_episodes').is_dir() else path
    return [NpzVideo(p, key(p)) for p in sorted(root.glob('*.npz'))], fmt
  if fmt == 'video':
    files = [path] if path.is_file() else sorted(p for p in path.rglob('*') if p.suffix.lower() in VIDEO_EXTS)
    return [FileVideo(p, key(p)) for p in files], fmt
  if fmt == 'rlbench':
    unknown = set(cameras) - set(RLBENCH_CAMERAS)
    if unknown:
      raise UserError(f'Unknown RLBench cameras {sorted(unknown)}; expected some of {list(RLBENCH_CAMERAS)}.')
    episodes = sorted(set(path.glob('*/variation*/episodes/episode*')) | set(path.glob('variation*/episodes/episode*')))
    folders = [ep / f'{cam}_rgb' for ep in episodes for cam in cameras]
    return [FramesVideo(f, key(f)) for f in folders if f.is_dir()], fmt
  if fmt is None:
    fmt = 'nothing usable'
  raise UserError(
      f'No videos found in {path} ({fmt}): expected .npz files with an image array [N, H, W, 3] '
      f'(flat or in train_episodes/), video files ({", ".join(VIDEO_EXTS)}), or an RLBench dataset '
      '(<task>/variation<v>/episodes/episode<i>/<camera>_rgb/<frame>.png).')
