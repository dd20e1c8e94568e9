"""Optional W&B output: wired through elements in offline mode, a one-line error when missing."""
import sys
import types

from dreamerv2 import config as config_lib
from dreamerv2 import logger as logger_lib


def test_wandb_offline_output_gets_the_run_and_its_metrics(tmp_path, monkeypatch):
  calls = {'init': [], 'log': []}
  fake = types.ModuleType('wandb')  # The real package needs no network offline, but is not a dependency.
  fake.init = lambda **kwargs: calls['init'].append(kwargs)
  fake.log = lambda metrics, step: calls['log'].append((step, metrics))
  monkeypatch.setitem(sys.modules, 'wandb', fake)
  config = config_lib.parse(['--configs', 'metaworld', 'debug', '--task', 'metaworld_reach', '--seed', '2',
                             '--wandb.enabled', 'True', '--logdir', str(tmp_path)])
  logger = logger_lib.make_logger(tmp_path, lambda: 500, tensorboard=False, terminal_pattern='^$', config=config)
  logger.add({'return': 3.5}, prefix='eval')
  logger.write()
  (init,) = calls['init']
  assert init['mode'] == 'offline' and init['dir'] == str(tmp_path) and init['resume'] == 'allow'
  assert init['name'] == 'dreamerv2/metaworld_reach/2' and init['group'] == 'dreamerv2 [metaworld+debug]'
  assert init['config']['rssm.deter'] == 32
  assert calls['log'] == [(500, {'eval/return': 3.5})]
  # The same logdir resumes the same W&B run.
  again = logger_lib.make_logger(tmp_path, lambda: 600, tensorboard=False, terminal_pattern='^$', config=config)
  assert calls['init'][1]['id'] == init['id']
  again.close()


def test_wandb_enabled_but_missing_is_one_line_and_writes_nothing(entry, tmp_path):
  try:
    import wandb  # noqa: F401
    import pytest
    pytest.skip('wandb is installed here')
  except ImportError:
    pass
  proc = entry('dreamerv2/train.py', '--configs', 'debug', '--wandb.enabled', 'True', '--logdir', tmp_path / 'run',
               check=False)
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode == 2 and len(errors) == 1 and 'pip install wandb' in errors[0], proc.stderr
  assert 'Traceback' not in proc.stderr and not list((tmp_path / 'run').rglob('*'))
