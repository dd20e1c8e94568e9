"""Name-keyed TensorFlow checkpoints: durable saves, and loads that walk back past damaged ones.

Layout: `<dir>/ckpt-<n>/{variables.*, extra.json}` plus a `latest` pointer file.
A save writes `ckpt-<n>.tmp/`, fsyncs its files and the folder, renames it, fsyncs
the parent, then replaces `latest` the same way; a crash at any point leaves the
previous checkpoints intact. A load tries the checkpoints newest first (by number,
whatever `latest` says, since `latest` itself may be lost) and restores the first
intact one; the ones it skipped are reported and, once an older one has loaded,
moved to `<dir>/skipped/` (never deleted) so that pruning cannot mistake them for
the newest. A folder with checkpoints of which none loads is an error: the run
must not silently start again from nothing.
"""
import json
import os
import pathlib
import re
import shutil
import time

import tensorflow as tf

from .errors import UserError

PREFIX = 'ckpt-'


def fsync_path(path):
  """Flushes a file's or a directory's entry to disk."""
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def fsync_tree(path):
  for root, _, files in os.walk(path):
    for name in files:
      fsync_path(os.path.join(root, name))
    fsync_path(root)


def _number(path):
  tail = path.name[len(PREFIX):]
  return int(tail) if tail.isdigit() else None


def _short(error):
  """One line from an exception (TF's messages span many lines)."""
  text = re.sub(r'\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]', '', str(error)).strip().splitlines()
  return f'{type(error).__name__}: {text[0] if text else ""}'[:400]


class Checkpoint:
  """`tf.train.Checkpoint(**objects)` in `<dir>/ckpt-<n>/`; see the module docstring."""

  def __init__(self, directory, keep=2, log=print, **objects):
    self.directory = pathlib.Path(directory)
    self._ckpt = tf.train.Checkpoint(**objects)
    self._keep = keep
    self._log = log

  def candidates(self):
    """Checkpoint folders, newest first."""
    if not self.directory.is_dir():
      return []
    found = [p for p in self.directory.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and _number(p) is not None]
    return sorted(found, key=_number, reverse=True)

  def latest(self):
    """The newest checkpoint folder that looks intact (index and extra state readable), or None."""
    for path in self.candidates():
      reason = self._check(path)
      if reason is None:
        return path
      self._log(f'Checkpoint {path} is unusable, trying an older one: {reason}')
    return None

  def _check(self, path):
    """None if the files of `path` are readable, else the reason (does not restore anything)."""
    try:
      extra = json.loads((path / 'extra.json').read_text())
      if not isinstance(extra, dict):
        return f'extra.json holds {type(extra).__name__}, expected an object'
      tf.train.load_checkpoint(str(path / 'variables'))
    except FileNotFoundError as e:
      return f'missing {pathlib.Path(e.filename).name}' if e.filename else _short(e)
    except Exception as e:  # Any unreadable file: JSON, index, OS or TF errors.
      return _short(e)
    return None

  def clean(self):
    """Removes leftovers of interrupted saves (`*.tmp`); call once by the process that writes."""
    if not self.directory.is_dir():
      return
    for path in self.directory.glob('*.tmp'):
      self._log(f'Removing {path.name} in {self.directory}: left over from an interrupted save.')
      shutil.rmtree(path) if path.is_dir() else path.unlink()

  def save(self, number, extra=None):
    self.directory.mkdir(parents=True, exist_ok=True)
    name = f'{PREFIX}{number:012d}'
    final = self.directory / name
    tmp = self.directory / (name + '.tmp')
    shutil.rmtree(tmp, ignore_errors=True)
    try:
      self._ckpt.write(str(tmp / 'variables'))
      (tmp / 'extra.json').write_text(json.dumps(extra or {}))
      fsync_tree(tmp)
    except (OSError, tf.errors.OpError) as e:  # Disk full, quota, read-only: TF raises its own errors.
      shutil.rmtree(tmp, ignore_errors=True)
      kept = self.latest()
      kept = f'{kept.name} is intact' if kept else 'no earlier checkpoint exists'
      raise UserError(f'Saving checkpoint {final} failed ({_short(e)}); {kept}. '
                      'Fix the storage and re-run the same command to resume.') from None
    if final.exists():
      shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_path(self.directory)
    self._point(name)
    for path in self.candidates()[self._keep:]:
      shutil.rmtree(path, ignore_errors=True)
    return final

  def load(self):
    """Restores the newest intact checkpoint and returns its extra state.

    Returns None when there is nothing to resume from (no checkpoint folder, or one
    without any checkpoint). Raises UserError when checkpoints exist but none loads.
    """
    candidates = self.candidates()
    pointer = self.directory / 'latest'
    if not candidates:
      if pointer.exists():
        raise UserError(f'{pointer} names {pointer.read_text().strip()!r} but {self.directory} holds no checkpoint '
                        'folder; restore it, or move the checkpoint folder away to start from scratch.')
      return None
    skipped = []
    for path in candidates:
      reason = self._check(path)
      if reason is None:
        try:
          extra = json.loads((path / 'extra.json').read_text())
          self._ckpt.read(str(path / 'variables')).assert_consumed()
        except Exception as e:  # Data files that fail only when read (truncated, checksum), or another model.
          reason = _short(e)
      if reason is not None:
        self._log(f'Checkpoint {path} is unusable, trying an older one: {reason}')
        skipped.append((path, reason))
        continue
      if skipped:
        self._set_aside(skipped, path)
      named = pointer.read_text().strip() if pointer.exists() else None
      if named != path.name:
        self._log(f'{pointer} names {named!r}, which is not there; resuming from {path.name}, the newest intact one.'
                  if named else f'{pointer} is missing; resuming from {path.name}, the newest intact checkpoint.')
        self._point(path.name)
      return extra
    listing = '; '.join(f'{p.name}: {r}' for p, r in skipped)
    raise UserError(f'No usable checkpoint in {self.directory} ({listing}). Nothing was deleted; '
                    'repair them, or move the checkpoint folder away to start from scratch.')

  def _set_aside(self, skipped, loaded):
    aside = self.directory / 'skipped'
    aside.mkdir(exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%S', time.gmtime())
    for path, reason in skipped:
      target = aside / f'{path.name}-{stamp}'
      os.replace(path, target)
      (aside / f'{target.name}.reason.txt').write_text(reason + '\n')
      self._log(f'Moved the unusable checkpoint {path.name} to {target} (kept, not deleted).')
    self._log(f'Resuming from the older checkpoint {loaded.name}.')
    self._point(loaded.name)

  def _point(self, name):
    """Switches `latest` to `name`, durably."""
    pointer_tmp = self.directory / 'latest.tmp'
    pointer_tmp.write_text(name)
    fsync_path(pointer_tmp)
    os.replace(pointer_tmp, self.directory / 'latest')
    fsync_path(self.directory)


def module_variables(module):
  """{checkpoint key relative to the module: variable} for a tf.Module tree."""
  items = module._flatten(with_path=True, predicate=lambda x: isinstance(x, tf.Variable))
  return {'/'.join(str(p) for p in path): var for path, var in items}


def load_modules(path, modules, prefix='', partial=None):
  """Copies variables from a checkpoint into `modules` ({name: tf.Module}) by name.

  `path` is a checkpoint prefix (`.../variables`); keys are `<prefix><name>/<attr path>`.
  `partial` maps a variable key to a row count: only its first rows are loaded
  (the model's variable may have more rows than the checkpoint's).
  Raises a ValueError listing every missing or mis-shaped variable before
  assigning anything.
  """
  partial = partial or {}
  reader = tf.train.load_checkpoint(str(path))
  shapes = reader.get_variable_to_shape_map()
  missing, mismatched, pairs = [], [], []
  for name, module in modules.items():
    for key, var in module_variables(module).items():
      full = f'{prefix}{name}/{key}/.ATTRIBUTES/VARIABLE_VALUE'
      if full not in shapes:
        missing.append(f'{name}/{key} {var.shape.as_list()}')
        continue
      want = var.shape.as_list()
      if key in partial:
        want = [partial[key]] + want[1:]
      if list(shapes[full]) != want:
        mismatched.append(f'{name}/{key}: checkpoint {list(shapes[full])} vs model {want}')
      else:
        pairs.append((var[:partial[key]] if key in partial else var, full))
  if missing or mismatched:
    lines = [f'Cannot load {", ".join(modules)} from {path}:']
    lines += [f'  shape mismatch {m}' for m in mismatched]
    lines += [f'  missing in checkpoint {m}' for m in missing]
    raise ValueError('\n'.join(lines))
  for var, full in pairs:
    var.assign(reader.get_tensor(full))
  return len(pairs)
