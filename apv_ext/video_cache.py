"""The video cache: every dataset is decoded once into S x S uint8 frames in memory-mappable shards.

A cache folder holds
  shard-00000.npy   frames [n, S, S, 3] uint8 of consecutive videos (read with np.load(mmap_mode='r'))
  shard-00000.json  that shard's manifest: its videos (key, identity, offset, length) and the sources
                    skipped while it was built, with the reason; written after its .npy
  index.json        the settings, every source's identity and the live videos; written last
  skipped.txt       every skipped source with its reason
All files are written to a temporary name and renamed, so a killed conversion leaves only
complete shards; the next run reuses them and converts the rest. Sources are converted in
sorted order and shards are cut at the same frame counts, so a resumed conversion builds
the same index as an uninterrupted one. Added, removed and modified sources (size, mtime,
file count) are detected on every use and only those are converted again.
"""
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import pathlib

import numpy as np

from apv_ext import video_formats
from dreamerv2.errors import UserError

VERSION = 1
SHARD_FRAMES = 16384  # ~200 MB of 64x64 frames: few files, and little work lost to a kill.
MIN_LENGTH = 2        # Shorter videos are skipped at conversion; the dataset skips those < its window.


def default_root(root=''):
  """The cache root: `root` (--video.cache) if given, else $APV_CACHE, else ~/.cache/apv."""
  return pathlib.Path(root or os.environ.get('APV_CACHE') or '~/.cache/apv').expanduser()


def cache_dir(source, root='', fmt='auto', cameras=video_formats.RLBENCH_CAMERAS, size=64):
  """Where the cache of `source` lives under `root`: one folder per source path and settings."""
  source = pathlib.Path(source).expanduser().resolve()
  if fmt == 'auto':  # The same cache whether the format was named or detected.
    fmt = video_formats.detect_format(source) if source.exists() else fmt
  settings = json.dumps([str(source), fmt, sorted(cameras) if fmt == 'rlbench' else [], size, VERSION])
  digest = hashlib.sha1(settings.encode()).hexdigest()[:10]
  return default_root(root) / 'videos' / f'{source.name or "root"}-{digest}'


def is_cache(path):
  """Whether `path` is a cache folder (its index.json has our settings), not a dataset."""
  try:
    return 'settings' in json.loads((pathlib.Path(path) / 'index.json').read_text())
  except (OSError, ValueError, TypeError):
    return False


def write_atomic(path, data):
  tmp = path.with_name(path.name + '.tmp')
  with open(tmp, 'wb') as f:
    f.write(data if isinstance(data, bytes) else data.encode())
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def _write_shard(path, videos):
  """Writes the frames of `videos` (a list of arrays) as one .npy without concatenating them in RAM."""
  count = sum(len(v) for v in videos)
  tmp = path.with_name(path.name + '.tmp')
  with open(tmp, 'wb') as f:
    header = {'descr': np.lib.format.dtype_to_descr(np.dtype(np.uint8)), 'fortran_order': False,
              'shape': (count,) + videos[0].shape[1:]}
    np.lib.format.write_array_header_1_0(f, header)
    for frames in videos:
      f.write(np.ascontiguousarray(frames, np.uint8).tobytes())
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def _load(video, size):
  """Runs in a worker process: ('ok', frames) or ('skip', reason)."""
  try:
    return 'ok', video.load(size)
  except video_formats.BadVideo as e:
    return 'skip', str(e)
  except Exception as e:  # Decoders raise many types; one bad video must not stop a long conversion.
    return 'skip', f'unreadable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})'


def _convert(videos, size, workers):
  """Yields (video, status, result) in the order of `videos`, decoding in `workers` processes."""
  if workers <= 1:
    for video in videos:
      yield (video, *_load(video, size))
    return
  # spawn: the caller may have imported TensorFlow, whose threads do not survive fork.
  context = multiprocessing.get_context('spawn')
  with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
    pending, it = [], iter(videos)
    for video in it:  # A bounded window of videos in flight keeps memory small when one is slow.
      pending.append((video, pool.submit(_load, video, size)))
      if len(pending) >= 4 * workers:
        video, future = pending.pop(0)
        yield (video, *future.result())
    for video, future in pending:
      yield (video, *future.result())


class _Manifests:
  """The complete shards of a cache folder, and the sources they hold or skipped."""

  def __init__(self, out, settings, log):
    self.out = out
    self.shards = {}  # shard name -> manifest
    for tmp in out.glob('*.tmp'):
      tmp.unlink()  # Left by a killed conversion; never trusted.
    for path in sorted(out.glob('shard-*.json')):
      manifest = json.loads(path.read_text())
      npy = out / manifest['file'] if manifest['frames'] else None
      if manifest.get('settings') != settings or (npy and not self._complete(npy, manifest['frames'])):
        log(f'Video cache: discarding {path.name} (other settings or an incomplete shard).')
        self.drop(path.stem)
        continue
      self.shards[path.stem] = manifest

  @staticmethod
  def _complete(npy, frames):
    try:
      return np.load(npy, mmap_mode='r').shape[0] == frames
    except (OSError, ValueError):
      return False

  def drop(self, name):
    self.shards.pop(name, None)
    for suffix in ('.npy', '.json'):
      (self.out / f'{name}{suffix}').unlink(missing_ok=True)

  def next_name(self):
    numbers = [int(name.split('-')[1]) for name in self.shards]
    return f'shard-{max(numbers, default=-1) + 1:05d}'


def build(source, out, fmt='auto', cameras=video_formats.RLBENCH_CAMERAS, size=64, workers=0, log=print,
          progress=True, shard_frames=SHARD_FRAMES, min_length=MIN_LENGTH):
  """Brings the cache of `source` in `out` up to date with the source; returns the index (a dict)."""
  videos, fmt = video_formats.discover(source, fmt, cameras)
  source = str(pathlib.Path(source).expanduser().resolve())
  settings = {'version': VERSION, 'source': source, 'format': fmt, 'size': size, 'min_length': min_length,
              'cameras': sorted(cameras) if fmt == 'rlbench' else []}
  scan = {v.key: v.identity() for v in videos}
  out = pathlib.Path(out)
  index = _current(out, settings, scan)
  if index:
    return index  # Nothing added, removed or modified since the last conversion.
  out.mkdir(parents=True, exist_ok=True)
  with _locked(out, log):
    # Another process may have brought it up to date while this one waited for the lock.
    return _current(out, settings, scan) or _update(out, videos, scan, settings, size, workers, log, progress,
                                                   shard_frames, min_length)


def _current(out, settings, scan):
  """The committed index if it was built with these settings from sources as scanned now, else None."""
  try:
    index = json.loads((out / 'index.json').read_text())
  except (OSError, ValueError):
    return None
  return index if index.get('settings') == settings and index.get('scan') == scan else None


@contextlib.contextmanager
def _locked(out, log):
  """One converting process per cache folder; another one waits, then finds the cache up to date."""
  with open(out / '.lock', 'w') as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      log(f'Video cache {out}: another process is converting into it; waiting.')
      fcntl.flock(lock, fcntl.LOCK_EX)
    yield


def _update(out, videos, scan, settings, size, workers, log, progress, shard_frames, min_length):
  manifests = _Manifests(out, settings, log)
  done = set()  # Keys already converted (or skipped) from their current version.
  for name, manifest in list(manifests.shards.items()):
    entries = manifest['videos'] + manifest['skipped']
    live = [e for e in entries if scan.get(e['key']) == e['identity']]
    live_frames = sum(e.get('length', 0) for e in live)
    if not live or (manifest['frames'] and live_frames < manifest['frames'] / 2):
      manifests.drop(name)  # All or most of it removed or modified: convert its live videos again.
      continue
    done |= {e['key'] for e in live}
  todo = [v for v in videos if v.key not in done]
  if todo:
    log(f'Video cache: converting {len(todo)} of {len(videos)} videos from {settings["source"]} '
        f'({settings["format"]}) into {out}.')
    workers = min(workers or os.cpu_count() or 1, len(todo))
    _convert_into(manifests, todo, scan, size, settings, workers, progress, shard_frames, min_length)
  index = {'settings': settings, 'scan': scan, 'shards': {}, 'videos': [], 'skipped': []}
  for name in sorted(manifests.shards):
    manifest = manifests.shards[name]
    index['shards'][name] = {'file': manifest['file'], 'frames': manifest['frames']}
    for e in manifest['videos']:
      if scan.get(e['key']) == e['identity']:
        index['videos'].append({'key': e['key'], 'shard': name, 'offset': e['offset'], 'length': e['length']})
    index['skipped'] += [{'key': e['key'], 'reason': e['reason']} for e in manifest['skipped']
                         if scan.get(e['key']) == e['identity']]
  index['videos'].sort(key=lambda v: v['key'])
  index['skipped'].sort(key=lambda v: v['key'])
  write_atomic(out / 'skipped.txt', ''.join(f'{s["key"]}: {s["reason"]}\n' for s in index['skipped']))
  write_atomic(out / 'index.json', json.dumps(index))  # Last: a cache is trusted only with its index.
  return index


def _convert_into(manifests, todo, scan, size, settings, workers, progress, shard_frames, min_length):
  from tqdm import tqdm
  bar = tqdm(total=len(todo), unit='video', desc='converting videos', disable=not progress, dynamic_ncols=True)
  frames, entries, skipped, count = [], [], [], 0

  def flush():
    nonlocal frames, entries, skipped, count
    name = manifests.next_name()
    if frames:
      _write_shard(manifests.out / f'{name}.npy', frames)
    manifest = {'settings': settings, 'file': f'{name}.npy', 'frames': count, 'videos': entries,
                'skipped': skipped}
    write_atomic(manifests.out / f'{name}.json', json.dumps(manifest))
    manifests.shards[name] = manifest
    frames, entries, skipped, count = [], [], [], 0

  for video, status, result in _convert(todo, size, workers):
    identity = scan[video.key]  # As scanned before decoding: a later change is seen next time.
    if status == 'ok' and len(result) < min_length:
      status, result = 'skip', f'too short ({len(result)} frames)'
    if status == 'ok':
      entries.append({'key': video.key, 'identity': identity, 'offset': count, 'length': len(result)})
      frames.append(result)
      count += len(result)
    else:
      skipped.append({'key': video.key, 'identity': identity, 'reason': result})
    bar.update(1)
    if count >= shard_frames:
      flush()
  if entries or skipped:
    flush()
  bar.close()


def load_index(path):
  """The index of a cache folder, or a one-line error."""
  path = pathlib.Path(path)
  try:
    index = json.loads((path / 'index.json').read_text())
  except (OSError, ValueError) as e:
    raise UserError(f'Video cache {path}: unreadable index.json ({e}); delete the folder to rebuild it.')
  if index.get('settings', {}).get('version') != VERSION:
    raise UserError(f'Video cache {path} was written by another version; delete it to rebuild it.')
  return index


def prepare(source, root='', fmt='auto', cameras=video_formats.RLBENCH_CAMERAS, size=64, workers=0, log=print,
            progress=True):
  """The cache folder and index for `source`: a cache folder itself, or a dataset converted (once) under `root`."""
  if is_cache(source):
    return pathlib.Path(source), load_index(source)
  out = cache_dir(source, root, fmt, cameras, size)
  return out, build(source, out, fmt, cameras, size, workers, log, progress)
