"""Name-keyed TensorFlow checkpoints, written atomically, and partial loads by module name."""
import json
import os
import pathlib
import shutil

import tensorflow as tf


class Checkpoint:
  """`tf.train.Checkpoint(**objects)` in `<dir>/ckpt-<n>/`, switched over atomically.

  A save writes a new directory under a temporary name, renames it, then replaces
  the `latest` pointer file; an interrupted save leaves the previous one intact.
  Extra JSON-serialisable state (counters, numpy RNG state) is saved beside it.
  """

  def __init__(self, directory, keep=2, **objects):
    self.directory = pathlib.Path(directory)
    self._ckpt = tf.train.Checkpoint(**objects)
    self._keep = keep

  def latest(self):
    pointer = self.directory / 'latest'
    if not pointer.exists():
      return None
    path = self.directory / pointer.read_text().strip()
    return path if path.exists() else None

  def save(self, number, extra=None):
    self.directory.mkdir(parents=True, exist_ok=True)
    name = f'ckpt-{number:012d}'
    final = self.directory / name
    tmp = self.directory / (name + '.tmp')
    shutil.rmtree(tmp, ignore_errors=True)
    self._ckpt.write(str(tmp / 'variables'))
    (tmp / 'extra.json').write_text(json.dumps(extra or {}))
    if final.exists():
      shutil.rmtree(final)
    os.replace(tmp, final)
    pointer_tmp = self.directory / 'latest.tmp'
    pointer_tmp.write_text(name)
    os.replace(pointer_tmp, self.directory / 'latest')
    old = sorted(p for p in self.directory.glob('ckpt-*') if p.is_dir() and not p.name.endswith('.tmp'))
    for path in old[:-self._keep]:
      shutil.rmtree(path, ignore_errors=True)
    return final

  def load(self):
    """Restores the latest checkpoint; returns its extra state or None if there is none."""
    path = self.latest()
    if path is None:
      return None
    self._ckpt.read(str(path / 'variables')).assert_consumed()
    return json.loads((path / 'extra.json').read_text())


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
