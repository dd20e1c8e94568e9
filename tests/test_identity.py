"""Run identity: run.json, refusing to resume into another run (untouched), fine-tuning without weights."""
import json
import subprocess

import pytest

from conftest import ROOT
from apv_ext import config as apv_config
from dreamerv2 import config as dv2_config
from dreamerv2 import identity
from dreamerv2.errors import UserError


def snapshot(logdir):
  """{relative path: (bytes, mtime_ns)} of every file under logdir."""
  return {str(p.relative_to(logdir)): (p.read_bytes(), p.stat().st_mtime_ns)
          for p in sorted(logdir.rglob('*')) if p.is_file()}


def make_run(logdir, argv, parse=dv2_config.parse, pretrain=False):
  """A logdir as a run leaves it: run.json, config.yaml and a scores line."""
  config = parse([*argv, '--logdir', str(logdir)])
  logdir.mkdir(parents=True)
  identity.write(logdir, config, argv=['train.py', *argv], pretrain=pretrain)
  config.save(str(logdir / 'config.yaml'))
  (logdir / 'scores.jsonl').write_text(json.dumps({'step': 400, 'return': 1.0}) + '\n')
  return config


def test_run_json_records_identity_commit_and_versions(tmp_path):
  config = make_run(tmp_path / 'run', ['--configs', 'metaworld', 'no_intr', 'debug', '--task', 'metaworld_reach',
                                       '--seed', '3'], parse=apv_config.parse)
  data = json.loads((tmp_path / 'run' / 'run.json').read_text())
  assert (data['method'], data['task'], data['seed'], data['preset']) == (
      'apv_no_intr', 'metaworld_reach', 3, 'metaworld+debug')
  assert data['named_configs'] == ['metaworld', 'no_intr', 'debug']
  try:  # A fresh machine or the Docker image may have no git, or no .git: then nothing is recorded.
    head = subprocess.run(['git', '-C', str(ROOT), 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
  except OSError:
    head = ''
  if head:
    assert data['commit'] == head and isinstance(data['dirty'], bool)
  else:
    assert data['commit'] is None and data['dirty'] is None
  assert data['command'][1:3] == ['train.py', '--configs']
  for name in ('tensorflow', 'tensorflow-probability', 'mujoco', 'metaworld', 'dm-control'):
    assert data['versions'][name], name
  assert data['device'] == 'CPU' and data['precision'] == str(config.precision) == '32'
  assert data['identity']['rssm.deter'] == 32 and data['identity']['task'] == 'metaworld_reach'


def test_check_allows_more_steps_and_refuses_another_run(tmp_path):
  argv = ['--configs', 'metaworld', 'debug', '--task', 'metaworld_reach']
  logdir = tmp_path / 'run'
  make_run(logdir, argv)
  identity.check(logdir, dv2_config.parse([*argv, '--steps', '5000', '--eval_every', '100']))
  cases = {'task': (['--task', 'metaworld_drawer_open'], "'metaworld_reach' (recorded) vs 'metaworld_drawer_open'"),
           'seed': (['--seed', '1'], 'seed 0 (recorded) vs 1'),
           'rssm.deter': (['--rssm.deter', '64'], 'rssm.deter 32 (recorded) vs 64')}
  for key, (extra, message) in cases.items():
    with pytest.raises(UserError, match='holds another run') as e:
      identity.check(logdir, dv2_config.parse([*argv, *extra]))
    assert message in str(e.value) and '\n' not in str(e.value), key
  with pytest.raises(UserError, match="method 'dreamerv2' \\(recorded\\) vs 'apv'"):
    identity.check(logdir, apv_config.parse([*argv, '--load_logdir', '/x']))


def test_resume_appends_to_run_json(tmp_path):
  argv = ['--configs', 'debug']
  config = make_run(tmp_path / 'run', argv)
  identity.write(tmp_path / 'run', config, argv=['train.py', *argv, '--steps', '900'])
  data = json.loads((tmp_path / 'run' / 'run.json').read_text())
  assert data['command'][-1] == 'debug' and data['resumes'][0]['command'][-1] == '900'


@pytest.mark.parametrize('script,argv,message', [
    ('dreamerv2/train.py', ['--task', 'metaworld_drawer_open'],
     "task 'metaworld_reach' (recorded) vs 'metaworld_drawer_open' (now)"),
    ('dreamerv2/train.py', ['--task', 'metaworld_reach', '--rssm.stoch', '8'], 'rssm.stoch 4 (recorded) vs 8 (now)'),
    ('apv_ext/train.py', ['--task', 'metaworld_reach', 'from_scratch'], "method 'dreamerv2' (recorded)"),
])
def test_mismatched_resume_is_one_line_and_leaves_the_logdir_untouched(entry, tmp_path, script, argv, message):
  logdir = tmp_path / 'run'
  make_run(logdir, ['--configs', 'metaworld', 'debug', '--task', 'metaworld_reach'])
  before = snapshot(logdir)
  configs = ['--configs', 'metaworld', 'debug'] + [a for a in argv if a == 'from_scratch']
  rest = [a for a in argv if a != 'from_scratch']
  proc = entry(script, *configs, *rest, '--logdir', logdir, check=False)
  assert proc.returncode == 2, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and message in errors[0] and 'Traceback' not in proc.stderr, proc.stderr
  assert snapshot(logdir) == before


def test_pretraining_logdir_with_other_sizes_is_refused_untouched(entry, tmp_path):
  logdir = tmp_path / 'pre'
  make_run(logdir, ['--configs', 'metaworld_pretrain', 'debug'], parse=apv_config.parse, pretrain=True)
  before = snapshot(logdir)
  proc = entry('apv_ext/train_video.py', '--configs', 'metaworld_pretrain', 'debug', '--apv.af_rssm.deter', '64',
               '--load_logdir', tmp_path / 'nothing', '--logdir', logdir, check=False)
  assert proc.returncode == 2 and 'apv.af_rssm.deter 32 (recorded) vs 64 (now)' in proc.stderr, proc.stderr
  assert snapshot(logdir) == before


def test_finetuning_without_weights_is_a_one_line_error(entry, tmp_path):
  proc = entry('apv_ext/train.py', '--configs', 'metaworld', 'debug', '--logdir', tmp_path / 'run', check=False)
  assert proc.returncode == 2 and not (tmp_path / 'run').exists()
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(lines) == 1 and '--load_logdir' in lines[0] and 'from_scratch' in lines[0]
  assert 'Traceback' not in proc.stderr
