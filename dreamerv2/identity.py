"""Run identity: what a logdir holds (`run.json`), and refusing to resume into a different run.

`run.json` records what is needed to trust and reproduce a run: its label (method),
task, seed, preset and named configs, the git commit and whether the tree was dirty,
the full command line, the versions of the packages that change results, and the
device and precision. It is written once, when the run starts; each resume appends
its commit and command line to `resumes`.

Resuming into a logdir whose recorded task, method, seed or model sizes differ would
mix two runs in one `scores.jsonl` and load mismatched weights, so it is a one-line
error naming both values, raised before anything in the logdir is written. Other
keys may change on resume; a larger `--steps` is how a run is extended.
"""
import datetime
import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys

import elements

from .errors import UserError

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ('tensorflow', 'tensorflow-probability', 'mujoco', 'metaworld', 'dm-control', 'numpy', 'elements')

# Keys that must not change when a run resumes: who the run is, and every size that
# shapes a network or an observation. Prefixes match nested keys (`rssm` -> `rssm.deter`).
IDENTITY_KEYS = ('task', 'method', 'seed')
SIZE_KEYS = ('env.size', 'env.action_repeat', 'encoder', 'decoder', 'rssm', 'reward_head', 'discount_head',
             'actor', 'critic', 'apv.af_rssm', 'apv.naive', 'apv.concat_embed', 'intr.proj_dim')
# Pre-training has no task and no actor-critic: its identity is the video model's sizes.
PRETRAIN_IDENTITY_KEYS = ('method', 'seed')
PRETRAIN_SIZE_KEYS = ('env.size', 'encoder', 'decoder', 'apv.af_rssm')


def git_state(root=ROOT):
  """(commit, dirty) of the checkout the code runs from; (None, None) outside a git checkout."""
  try:
    commit = subprocess.run(['git', '-C', str(root), 'rev-parse', 'HEAD'], capture_output=True, text=True,
                            timeout=10, check=True).stdout.strip()
    status = subprocess.run(['git', '-C', str(root), 'status', '--porcelain', '--untracked-files=no'],
                            capture_output=True, text=True, timeout=10, check=True).stdout
  except (OSError, subprocess.SubprocessError):
    return None, None
  return commit, bool(status.strip())


def versions(packages=PACKAGES):
  out = {'python': sys.version.split()[0]}
  for name in packages:
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out


def device():
  """'GPU:0 <name>, ...' for the GPUs TensorFlow sees, else 'CPU'."""
  import tensorflow as tf
  gpus = tf.config.list_physical_devices('GPU')
  if not gpus:
    return 'CPU'
  names = []
  for i, gpu in enumerate(gpus):
    name = tf.config.experimental.get_device_details(gpu).get('device_name', '')
    names.append(f'GPU:{i} {name}'.strip())
  return ', '.join(names)


def _selected(config, prefixes):
  flat = dict(config.flat)
  return {key: flat[key] for key in sorted(flat)
          if any(key == p or key.startswith(p + '.') for p in prefixes)}


def fingerprint(config, pretrain=False):
  """{key: value} of the keys a resumed run must keep."""
  keys = PRETRAIN_IDENTITY_KEYS if pretrain else IDENTITY_KEYS
  sizes = PRETRAIN_SIZE_KEYS if pretrain else SIZE_KEYS
  return {**_selected(config, keys), **_selected(config, sizes)}


def _json_value(value):
  return list(value) if isinstance(value, (list, tuple)) else value


def record(config, argv=None, pretrain=False):
  """The run.json record of a run starting now."""
  commit, dirty = git_state()
  return {
      'method': config.method, 'task': None if pretrain else config.task, 'seed': config.seed,
      'preset': config.preset, 'named_configs': config.named_configs.split(),
      'commit': commit, 'dirty': dirty,
      'command': [sys.executable, *(sys.argv if argv is None else argv)],
      'cwd': os.getcwd(),
      'versions': versions(), 'device': device(), 'precision': str(config.precision),
      'started': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      'identity': {k: _json_value(v) for k, v in fingerprint(config, pretrain).items()},
      'resumes': [],
  }


def _recorded_identity(logdir, pretrain):
  """The identity recorded by an earlier run: run.json, else (older runs) config.yaml; None if new."""
  path = logdir / 'run.json'
  if path.exists():
    try:
      return json.loads(path.read_text())['identity'], path
    except (ValueError, KeyError) as e:
      raise UserError(f'{path} is unreadable ({e}); it identifies the run in this logdir: '
                      'fix or remove it, or use another --logdir.') from None
  path = logdir / 'config.yaml'
  if path.exists():
    old = elements.Config.load(str(path))
    return {k: _json_value(v) for k, v in fingerprint(old, pretrain).items()}, path
  return None, None


def check(logdir, config, pretrain=False):
  """Raises a one-line UserError if `logdir` holds a different run; writes nothing."""
  logdir = pathlib.Path(logdir)
  old, path = _recorded_identity(logdir, pretrain)
  if old is None:
    return
  new = {k: _json_value(v) for k, v in fingerprint(config, pretrain).items()}
  diffs = [f'{key} {old.get(key)!r} (recorded) vs {new.get(key)!r} (now)'
           for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
  if diffs:
    raise UserError(f'--logdir {logdir} holds another run ({path.name}): {"; ".join(diffs)}. '
                    'Use a new --logdir, or the recorded values to resume it.')


def write(logdir, config, argv=None, pretrain=False):
  """Records a new run, or appends this resume to the recorded one (atomically)."""
  path = pathlib.Path(logdir) / 'run.json'
  if path.exists():
    data = json.loads(path.read_text())
    commit, dirty = git_state()
    data.setdefault('resumes', []).append({
        'commit': commit, 'dirty': dirty, 'command': [sys.executable, *(sys.argv if argv is None else argv)],
        'started': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')})
  else:
    data = record(config, argv, pretrain)
  tmp = path.with_name('run.json.tmp')
  tmp.write_text(json.dumps(data, indent=2) + '\n')
  tmp.replace(path)
  return data
