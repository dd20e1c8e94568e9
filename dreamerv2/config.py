"""Loading `configs.yaml` and parsing `--configs a b --key value` command lines."""
import pathlib

import elements
import ruamel.yaml

from .errors import UserError

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = ROOT / 'configs.yaml'




def load_configs(path=CONFIGS):
  return ruamel.yaml.YAML(typ='safe').load(pathlib.Path(path).read_text())


def parse(argv, path=CONFIGS):
  """Returns an `elements.Config` from the defaults, named configs and flag overrides."""
  configs = load_configs(path)
  try:
    parsed, other = elements.Flags(configs=['defaults']).parse_known(argv)
    config = elements.Config(configs['defaults'])
    for name in parsed.configs:
      if name not in configs:
        raise UserError(f"Unknown config '{name}' in --configs; {path.name} defines: {', '.join(configs)}.")
      config = config.update(configs[name])
    return elements.Flags(config).parse(other)
  except (KeyError, TypeError, ValueError) as e:
    message = str(e.args[0]) if e.args else str(e)
    if message.startswith('Flag '):
      message = message.replace("Flag '--", "Unknown config key '").replace(' did not match any config keys.', '')
    raise UserError(message) from None


def prepare_logdir(path):
  """Creates the logdir, or explains why it cannot be used."""
  if not path:
    raise UserError('No --logdir given: pass the directory to write logs and checkpoints to.')
  logdir = pathlib.Path(path).expanduser()
  if logdir.exists() and not logdir.is_dir():
    raise UserError(f'--logdir {logdir} is a file; expected a directory (new or from an earlier run).')
  logdir.mkdir(parents=True, exist_ok=True)
  return logdir
