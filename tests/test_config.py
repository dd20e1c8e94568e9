"""configs.yaml: every named config parses, and no key hides behind a Config attribute."""
import elements

from dreamerv2 import config as config_lib


def test_no_key_shadows_a_config_attribute():
  # `config.apv.load` once returned the bound method Config.load (always truthy):
  # attribute access finds methods before keys.
  attrs = set(dir(elements.Config))
  clashes = [key for key in config_lib.parse([]).flat if set(key.split('.')) & attrs]
  assert not clashes, clashes


def test_every_named_config_parses_alone_and_with_debug():
  for name in config_lib.load_configs():
    config_lib.parse(['--configs', name])
    config_lib.parse(['--configs', name, 'debug'])
