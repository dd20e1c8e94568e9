"""Config files: every named config parses, labels come from configs, and no key hides
behind a Config attribute."""
import elements
import pytest

from apv_ext import config as apv_config
from dreamerv2 import config as dv2_config
from dreamerv2.errors import UserError

ABLATIONS = {
    'no_intr': 'apv_no_intr', 'from_scratch': 'apv_from_scratch', 'naive_ft': 'apv_naive_ft',
    'encdec_only': 'apv_encdec_only', 'intr_window_1': 'apv_window_1', 'intr_window_3': 'apv_window_3',
    'intr_window_10': 'apv_window_10', 'frozen_af': 'apv_frozen_af',
}


def test_no_key_shadows_a_config_attribute():
  # `config.apv.load` once returned the bound method Config.load (always truthy):
  # attribute access finds methods before keys.
  attrs = set(dir(elements.Config))
  for parse in (dv2_config.parse, apv_config.parse):
    clashes = [key for key in parse([]).flat if set(key.split('.')) & attrs]
    assert not clashes, clashes


def test_every_named_config_parses_alone_and_with_debug():
  for parse, (_, named) in ((dv2_config.parse, dv2_config.load_layers()), (apv_config.parse, apv_config.load_layers())):
    for name in named:
      parse(['--configs', name])
      parse(['--configs', name, 'debug'])


def test_every_named_config_has_a_description():
  docs = apv_config.describe()
  assert set(docs) == set(apv_config.load_layers()[1])
  assert all(docs.values()), [k for k, v in docs.items() if not v]


@pytest.mark.parametrize('base', ['metaworld', 'dmc_vision'])
def test_method_labels_come_from_the_configs(base):
  assert dv2_config.parse(['--configs', base]).method == 'dreamerv2'
  assert apv_config.parse(['--configs', base]).method == 'apv'
  for name, label in ABLATIONS.items():
    config = apv_config.parse(['--configs', base, name, 'debug'])
    assert config.method == label, name
    assert config.preset == f'{base}+debug'
    assert config.named_configs == f'{base} {name} debug'
  assert apv_config.parse(['--configs', 'metaworld_pretrain', 'small']).method == 'apv_pretrain'


def test_two_ablations_need_an_explicit_label():
  with pytest.raises(UserError, match='--method'):
    apv_config.parse(['--configs', 'metaworld', 'no_intr', 'frozen_af'])
  config = apv_config.parse(['--configs', 'metaworld', 'no_intr', 'frozen_af', '--method', 'apv_combo'])
  assert config.method == 'apv_combo' and config.preset == 'metaworld'


def test_dreamerv2_knows_no_apv_key():
  for argv in (['--intr.beta', '0.5'], ['--configs', 'no_intr'], ['--apv.frozen_af', 'True']):
    with pytest.raises(UserError):
      dv2_config.parse(['--configs', 'metaworld', *argv])
  assert apv_config.parse(['--configs', 'metaworld', '--intr.beta', '0.5']).intr.beta == 0.5


def test_finetuning_without_weights_is_refused():
  with pytest.raises(UserError, match='--load_logdir'):
    apv_config.parse_finetune(['--configs', 'metaworld', 'debug'])
  assert apv_config.parse_finetune(['--configs', 'metaworld', 'from_scratch', 'debug']).method == 'apv_from_scratch'
  assert apv_config.parse_finetune(['--configs', 'metaworld', '--load_logdir', '/x']).load_logdir == '/x'
