"""Episode replay: one atomic `.npz` file per episode, windows sampled into tf.data.

An episode of N env steps has N + 1 entries: entry 0 is the reset observation
(action zero, is_first), entry t holds o_t, the action a_{t-1} that led to it and
the reward r_t received on arrival.
"""
import io
import os
import pathlib
import threading
import time
import uuid

import numpy as np

KEYS = ('image', 'action', 'reward', 'is_first', 'is_last', 'is_terminal')


def save_episode(directory, episode):
  """Writes `episode` atomically (temp file + rename) and returns its path."""
  length = len(episode['reward']) - 1
  # Microseconds in the name keep files of one run in chronological order when sorted.
  now = time.time()
  stamp = time.strftime('%Y%m%dT%H%M%S', time.gmtime(now)) + f'{int(now * 1e6) % 1_000_000:06d}'
  path = pathlib.Path(directory) / f'{stamp}-{uuid.uuid4().hex[:12]}-{length}.npz'
  return save_npz(path, **episode)


def save_npz(path, **arrays):
  """Compressed npz written to a temp file and renamed, so readers never see half a file."""
  path = pathlib.Path(path)
  buffer = io.BytesIO()
  np.savez_compressed(buffer, **arrays)
  tmp = path.with_name(path.name + '.tmp')
  tmp.write_bytes(buffer.getvalue())
  os.replace(tmp, path)
  return path


def window_start(total, length, prioritize_ends, rng):
  """Start index of a window of `length` in a sequence of `total` entries.

  Uniform over valid starts; with prioritize_ends the range is extended by
  `length` and clipped, so the final window is over-sampled.
  """
  available = total - length
  upper = available + 1 + (length if prioritize_ends else 0)
  return min(int(rng.integers(upper)), available)


def load_episode(path):
  with np.load(path) as data:
    return {k: data[k] for k in data.files}


def episode_length(path):
  """Env steps of an episode file, from its name when it follows our scheme."""
  stem = pathlib.Path(path).stem
  tail = stem.rsplit('-', 1)[-1]
  if tail.isdigit():
    return int(tail)
  return len(load_episode(path)['reward']) - 1


class Replay:

  def __init__(self, directory, capacity, length, prioritize_ends=False, seed=0, image_shape=None, log=print):
    self.directory = pathlib.Path(directory)
    self.directory.mkdir(parents=True, exist_ok=True)
    self._capacity = int(capacity)
    self._length = length
    self._prioritize_ends = prioritize_ends
    self._rng = np.random.default_rng(seed)
    self._lock = threading.Lock()
    self._episodes = {}  # Insertion-ordered: the oldest comes first.
    self._sampleable = []  # Names of stored episodes long enough for a window, kept in step.
    self._stored = 0
    self.total_steps = 0
    self.total_episodes = 0
    self._image_shape = tuple(image_shape) if image_shape else None
    self._log = log
    for tmp in self.directory.glob('*.npz.tmp'):
      tmp.unlink()  # An interrupted write; the episode was never counted.
    files = sorted(self.directory.glob('*.npz'))
    lengths = {}
    for path in files:
      try:
        lengths[path] = episode_length(path)
      except Exception as e:  # Only files outside our naming scheme are opened here.
        self.quarantine(path, f'unreadable: {_short(e)}')
    # Newest first until the capacity is full; a bad file is set aside and the next one taken.
    loaded, steps = [], 0
    for path in reversed([p for p in files if p in lengths]):
      if steps + lengths[path] > self._capacity and loaded:
        break
      episode, reason = self._read(path, lengths[path])
      if reason:
        self.quarantine(path, reason)
        del lengths[path]
        continue
      loaded.append((path, episode))
      steps += lengths[path]
    self.total_steps = sum(lengths.values())
    self.total_episodes = len(lengths)
    for path, episode in reversed(loaded):
      self._insert(path.name, episode)

  def _read(self, path, length):
    """(episode, None) if `path` holds a usable episode of `length` steps, else (None, reason)."""
    try:
      episode = load_episode(path)
    except Exception as e:  # Truncated or corrupt zip, bad pickle, CRC or zlib errors, I/O errors.
      return None, f'unreadable: {_short(e)}'
    reason = check_episode(episode, self._image_shape)
    if not reason and len(episode['reward']) - 1 != length:
      reason = f"{len(episode['reward']) - 1} steps, but its name says {length}"
    return (None, reason) if reason else (episode, None)

  def quarantine(self, path, reason):
    """Moves an unusable episode file to `quarantine/` (kept for inspection) and says why."""
    folder = self.directory / 'quarantine'
    folder.mkdir(exist_ok=True)
    os.replace(path, folder / path.name)
    with open(folder / 'reasons.txt', 'a') as f:
      f.write(f'{path.name}\t{reason}\n')
    self._log(f'Moved episode {path.name} to {folder}/ and continue without it: {reason}.')

  def __len__(self):
    return self._stored

  def add(self, episode):
    """episode: dict of lists or arrays, N + 1 entries each. Saves, then stores it."""
    episode = {k: convert(np.asarray(v)) for k, v in episode.items()}
    path = save_episode(self.directory, episode)
    self.total_steps += len(episode['reward']) - 1
    self.total_episodes += 1
    self._insert(path.name, episode)
    return path

  def _insert(self, name, episode):
    with self._lock:
      self._episodes[name] = episode
      if len(episode['reward']) >= self._length:
        self._sampleable.append(name)
      self._stored += len(episode['reward']) - 1
      while self._stored > self._capacity and len(self._episodes) > 1:
        oldest = next(iter(self._episodes))
        self._stored -= len(self._episodes.pop(oldest)['reward']) - 1
        if self._sampleable and self._sampleable[0] == oldest:
          self._sampleable.pop(0)

  def sample_window(self):
    """A window of `length` entries from a uniformly chosen episode; is_first at its start."""
    with self._lock:
      if not self._sampleable:
        raise ValueError(f'No episode in {self.directory} has {self._length} entries to sample a window from.')
      episode = self._episodes[self._sampleable[self._rng.integers(len(self._sampleable))]]
    start = window_start(len(episode['reward']), self._length, self._prioritize_ends, self._rng)
    window = {k: episode[k][start: start + self._length] for k in KEYS}
    window['is_first'] = window['is_first'].copy()
    window['is_first'][0] = True
    return window

  def dataset(self, batch, prefetch=4):
    """A tf.data pipeline of [batch, length] windows (imports TensorFlow lazily)."""
    import tensorflow as tf
    example = self.sample_window()
    signature = {k: tf.TensorSpec((batch,) + v.shape, v.dtype) for k, v in example.items()}

    def generator():
      while True:
        windows = [self.sample_window() for _ in range(batch)]
        yield {k: np.stack([w[k] for w in windows]) for k in signature}

    return tf.data.Dataset.from_generator(generator, output_signature=signature).prefetch(prefetch)

  @staticmethod
  def projected_bytes(capacity, obs_shape, act_dim):
    per_step = int(np.prod(obs_shape)) + 4 * act_dim + 4 + 3
    return int(capacity) * per_step


def check_episode(episode, image_shape=None):
  """None if `episode` (dict of arrays) can be sampled from, else the reason."""
  missing = [k for k in KEYS if k not in episode]
  if missing:
    return f"no {', '.join(missing)} key{'s' if len(missing) > 1 else ''} (has {', '.join(sorted(episode))})"
  count = len(episode['reward'])
  uneven = [f'{k} {len(episode[k])}' for k in KEYS if len(episode[k]) != count]
  if uneven:
    return f"entries differ in number: reward {count}, {', '.join(uneven)}"
  if count < 2:
    return 'no step after the reset'
  image = episode['image']
  if image_shape and (tuple(image.shape[1:]) != tuple(image_shape) or image.dtype != np.uint8):
    return f'images are {image.dtype} {list(image.shape[1:])}, this run uses uint8 {list(image_shape)}'
  return None


def _short(error):
  text = str(error).strip().splitlines()
  return f'{type(error).__name__}: {text[0] if text else ""}'[:300]


def convert(value):
  if np.issubdtype(value.dtype, np.floating):
    return value.astype(np.float32)
  if np.issubdtype(value.dtype, np.signedinteger):
    return value.astype(np.int32)
  return value
