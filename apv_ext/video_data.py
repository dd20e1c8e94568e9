"""Video datasets for action-free pre-training: windows sampled uniformly from the video cache.

Any source (npz folder, video files, RLBench folders, or a prepared cache folder) is
converted once by `video_cache`; batches are then copied out of memory-mapped shards with
no decoding, so memory stays flat however many videos there are (page cache aside). As
in the spec and the reference, every window draws a video uniformly from all training
videos, then a start with the window-start rule replay uses, independently of every
other window.
"""
import pathlib
import warnings

import numpy as np

from apv_ext import video_cache
from apv_ext.video_formats import RLBENCH_CAMERAS, BadVideo, discover  # noqa: F401 (public names)
from dreamerv2 import replay
from dreamerv2.errors import UserError

SHOW_NAMES = 5  # Skipped files named in the log; skipped.txt in the cache has all of them.


class VideoDataset:
  """Converts `path` into the cache (once), splits off validation videos and samples windows.

  `buffer` and `refresh` belonged to the former streaming loader and are ignored.
  """

  def __init__(self, path, length, batch, size=64, fmt='auto', cameras=RLBENCH_CAMERAS, heldout=4,
               prioritize_ends=False, buffer=None, refresh=None, seed=0, log=print, *, cache='', workers=0,
               progress=True):
    if buffer is not None or refresh is not None:
      warnings.warn('VideoDataset: buffer and refresh are ignored; windows are sampled from all videos.',
                    DeprecationWarning, stacklevel=2)
    self.length, self.batch, self.size = length, batch, size
    self._prioritize_ends = prioritize_ends
    self._rng = np.random.default_rng(seed)
    self.cache, index = video_cache.prepare(path, cache, fmt, tuple(cameras), size, workers, log, progress)
    settings = index['settings']
    self.format = settings['format']
    if settings['size'] != size:
      raise UserError(f'Video cache {self.cache} holds {settings["size"]}x{settings["size"]} frames; '
                      f'this run needs {size}x{size}.')
    names = sorted(index['shards'])
    self._shards = [np.load(self.cache / index['shards'][n]['file'], mmap_mode='r') if index['shards'][n]['frames']
                    else None for n in names]
    shard_ids = {n: i for i, n in enumerate(names)}
    usable = [v for v in index['videos'] if v['length'] >= length]
    short = [v['key'] for v in index['videos'] if v['length'] < length]
    short += [s['key'] for s in index['skipped'] if s['reason'].startswith('too short')]
    unreadable = [s for s in index['skipped'] if not s['reason'].startswith('too short')]
    self.skipped = {'too short': len(short), 'unreadable': len(unreadable)}
    if not usable:
      raise UserError(
          f'No usable videos in {path} ({self.format}, {len(index["scan"])} found; {len(short)} shorter than '
          f'{length} frames, {len(unreadable)} unreadable): need videos of at least {length} frames.')
    self._shard_of = np.array([shard_ids[v['shard']] for v in usable], np.int32)
    self._offset = np.array([v['offset'] for v in usable], np.int64)
    self._length = np.array([v['length'] for v in usable], np.int64)
    order = self._rng.permutation(len(usable))
    heldout = min(heldout, len(usable) - 1)
    self.valid, self.train = np.sort(order[:heldout]), np.sort(order[heldout:])
    self.num_frames = int(self._length.sum())
    self.identity = {'path': settings['source'], 'videos': len(usable), 'frames': self.num_frames,
                     'bytes': int(sum(identity[0] for identity in index['scan'].values()))}
    log(f'Video dataset {path} ({self.format}, cache {self.cache}): using {len(usable)} videos with '
        f'{self.num_frames} frames ({len(self.train)} train, {len(self.valid)} validation); skipped '
        f'{len(short)} shorter than {length} frames and {len(unreadable)} unreadable.')
    for what, items in (('unreadable', [f'{s["key"]} ({s["reason"]})' for s in unreadable]),
                        (f'shorter than {length} frames', short)):
      if items:
        more = f' and {len(items) - SHOW_NAMES} more' if len(items) > SHOW_NAMES else ''
        log(f'Skipped as {what}: {", ".join(items[:SHOW_NAMES])}{more} (all skips: {self.cache / "skipped.txt"}).')

  def _frames(self, video, start):
    begin = self._offset[video] + start
    return self._shards[self._shard_of[video]][begin: begin + self.length]

  def _sample(self, videos, out):
    """Copies one window into `out` [T, S, S, 3]: a uniform video, then a start by the replay rule."""
    video = videos[self._rng.integers(len(videos))]
    start = replay.window_start(int(self._length[video]), self.length, self._prioritize_ends, self._rng)
    out[:] = self._frames(video, start)

  def windows(self, videos=None):
    """Infinite generator of single windows [T, S, S, 3] uint8."""
    videos = self.train if videos is None else np.asarray(videos)
    while True:
      window = np.empty((self.length, self.size, self.size, 3), np.uint8)
      self._sample(videos, window)
      yield window

  def batches(self, videos=None):
    """Infinite generator of {'image': [B, T, S, S, 3] uint8, 'is_first': [B, T] bool}."""
    videos = self.train if videos is None else np.asarray(videos)
    is_first = np.zeros((self.batch, self.length), bool)
    is_first[:, 0] = True
    while True:
      image = np.empty((self.batch, self.length, self.size, self.size, 3), np.uint8)
      for i in range(self.batch):
        self._sample(videos, image[i])
      yield {'image': image, 'is_first': is_first.copy()}

  def dataset(self, videos=None, prefetch=4):
    import tensorflow as tf
    signature = {'image': tf.TensorSpec((self.batch, self.length, self.size, self.size, 3), tf.uint8),
                 'is_first': tf.TensorSpec((self.batch, self.length), tf.bool)}
    return tf.data.Dataset.from_generator(lambda: self.batches(videos), output_signature=signature).prefetch(prefetch)

  def validation_batch(self):
    """A fixed validation batch: consecutive windows of the held-out videos, cycled to fill B."""
    videos = self.valid if len(self.valid) else self.train[:1]
    windows = []
    for i in range(self.batch):
      video = videos[i % len(videos)]
      start = min((i // len(videos)) * self.length, int(self._length[video]) - self.length)
      windows.append(self._frames(video, start))
    is_first = np.zeros((self.batch, self.length), bool)
    is_first[:, 0] = True
    return {'image': np.stack(windows), 'is_first': is_first}


def check_identity(recorded, current, allow_new_data=False):
  """Resuming on a dataset other than the one a run started with is an error unless allowed."""
  if not recorded or allow_new_data:
    return
  if isinstance(recorded, str):  # Runs from before the cache recorded only the path.
    recorded = {'path': str(pathlib.Path(recorded).expanduser().resolve())}
  changed = [f'{key} {recorded[key]} -> {current[key]}' for key in current
             if key in recorded and recorded[key] != current[key]]
  if changed:
    raise UserError(f'The video dataset differs from the one this run was trained on ({"; ".join(changed)}); '
                    'pass the original dataset, or --video.allow_new_data True to continue on this one.')
