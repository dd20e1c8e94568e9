"""Loading the configs YAML files and parsing `--configs a b --key value` command lines.

A package owns its config file. DreamerV2's is `dreamerv2/configs.yaml`; an extension
(apv_ext) layers its own file over it: its `defaults` may add keys, and each of its
named blocks is applied right after DreamerV2's block of the same name. So
`dreamerv2/train.py` knows no APV key, and rejects `--intr.beta` like any typo.
"""
import os
import pathlib

import elements
import ruamel.yaml

from . import validate
from .errors import UserError

CONFIGS = pathlib.Path(__file__).resolve().parent / 'configs.yaml'


def load_configs(path=CONFIGS):
  return ruamel.yaml.YAML(typ='safe').load(pathlib.Path(path).read_text())


def _merge(base, extra):
  """Deep-merges two YAML dicts; `extra` may add keys (only used for `defaults`)."""
  out = dict(base)
  for key, value in extra.items():
    if isinstance(value, dict) and isinstance(out.get(key), dict):
      out[key] = _merge(out[key], value)
    else:
      out[key] = value
  return out


def load_layers(layers=(CONFIGS,)):
  """Returns (defaults, {name: [block, ...]}) from config files applied in order."""
  defaults, named = {}, {}
  for path in layers:
    for name, block in load_configs(path).items():
      if name == 'defaults':
        defaults = _merge(defaults, block)
      else:
        named.setdefault(name, []).append(block)
  return defaults, named


def describe(layers=(CONFIGS,)):
  """{name: one-line description}: the comment line right above each named block."""
  out = {}
  for path in layers:
    lines = pathlib.Path(path).read_text().splitlines()
    for i, line in enumerate(lines):
      if line and not line[0].isspace() and not line.startswith('#') and line.rstrip().endswith(':'):
        name = line.rstrip()[:-1]
        if name == 'defaults':
          continue
        doc = lines[i - 1][1:].strip() if i and lines[i - 1].startswith('#') else ''
        # A later layer's description of the same block adds to the first one.
        out[name] = f'{out[name]} / {doc}' if out.get(name) and doc else (out.get(name) or doc)
  return out


def _flat(tree, prefix=''):
  for key, value in tree.items():
    if isinstance(value, dict):
      yield from _flat(value, f'{prefix}{key}.')
    else:
      yield f'{prefix}{key}', value


def usage(layers=(CONFIGS,), description=''):
  """The `--help` text: the entry point's description, the named configs one per line, every key."""
  defaults, _ = load_layers(layers)
  lines = [description.strip(), ''] if description.strip() else []
  lines += ['Usage: --configs NAME [NAME ...] --key value ...  (named configs apply left to right over',
            'the defaults; dotted keys set nested values, e.g. --rssm.deter 512 --env.size 64 64)', '',
            'Named configs:']
  docs = describe(layers)
  width = max(map(len, docs), default=0)
  lines += [f'  {name:<{width}}  {doc}' for name, doc in docs.items()]
  lines += ['', 'Keys and their defaults:']
  keys = list(_flat(defaults))
  width = max((len(k) for k, _ in keys), default=0)
  show = lambda v: ' '.join(map(str, v)) if isinstance(v, (list, tuple)) else ("''" if v == '' else str(v))
  lines += [f'  --{key:<{width}}  {show(value)}' for key, value in keys]
  return '\n'.join(lines)


def parse(argv, layers=(CONFIGS,), description=''):
  """Returns an `elements.Config` from the defaults, named configs and flag overrides.

  `-h`/`--help` prints `usage()` and exits, before anything heavy is imported.

  The run's label (`method`) comes from the named configs: the last one that sets
  `method` wins, and two that set different labels are an error (name the combination
  with `--method`). `named_configs` records the list and `preset` the named configs
  that set no label (the size/suite preset, e.g. `metaworld+debug`), so that runs of
  different presets are never pooled.
  """
  if any(arg in ('-h', '--help') for arg in argv):
    print(usage(layers, description))
    raise SystemExit(0)
  defaults, named = load_layers(layers)
  try:
    parsed, other = elements.Flags(configs=['defaults']).parse_known(argv)
    names = [name for name in parsed.configs if name != 'defaults']
    config = elements.Config(defaults)
    labels = {}
    for name in names:
      if name not in named:
        known = ', '.join(sorted(named))
        raise UserError(f"Unknown config '{name}' in --configs; known configs: {known}.")
      for block in named[name]:
        config = config.update(block)
        if 'method' in block:
          labels[name] = block['method']
    if len(set(labels.values())) > 1 and not any(a == '--method' or a.startswith('--method=') for a in other):
      pairs = ', '.join(f'{k} ({v})' for k, v in labels.items())
      raise UserError(f'Configs {pairs} set different method labels; pass --method LABEL to name the combination.')
    preset = '+'.join(name for name in names if name not in labels) or 'defaults'
    config = config.update({'named_configs': ' '.join(names), 'preset': preset})
    config = elements.Flags(config).parse(other)
  except (KeyError, TypeError, ValueError) as e:
    message = str(e.args[0]) if e.args else str(e)
    if message.startswith('Flag '):
      message = message.replace("Flag '--", "Unknown config key '").replace(' did not match any config keys.', '')
    raise UserError(message) from None
  # Every value checked before anything starts: one line naming key, value and what is expected.
  return validate.check(config)


def prepare_logdir(path):
  """Creates the logdir, or explains why it cannot be used."""
  if not path:
    raise UserError('No --logdir given: pass the directory to write logs and checkpoints to.')
  logdir = pathlib.Path(path).expanduser()
  if logdir.exists() and not logdir.is_dir():
    raise UserError(f'--logdir {logdir} is a file; expected a directory (new or from an earlier run).')
  try:
    logdir.mkdir(parents=True, exist_ok=True)
    # Writable? (Read-only mounts, permissions and full disks show here, not minutes later.)
    probe = logdir / f'.write-test-{os.getpid()}'
    probe.write_bytes(b'x')
    probe.unlink()
  except OSError as e:
    where = f' ({e.filename})' if e.filename and str(e.filename) != str(logdir) else ''
    raise UserError(f'--logdir {logdir} cannot be used: {e.strerror or e}{where}.') from None
  return logdir
