"""End-to-end: the DreamerV2 entry point on `debug`, resume after SIGKILL, bad input."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from dreamerv2 import identity

TRAIN = 'dreamerv2/train.py'


def read_jsonl(path):
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_finite_losses(logdir):
  rows = [r for r in read_jsonl(logdir / 'metrics.jsonl') if 'train/wm/image_loss' in r]
  assert rows, 'no world-model losses logged'
  for key in ('train/wm/image_loss', 'train/wm/reward_loss', 'train/wm/kl_loss', 'train/ac/actor_loss'):
    assert all(math.isfinite(r[key]) for r in rows), key


@pytest.mark.parametrize('task,extra', [('metaworld_reach', ['--configs', 'metaworld', 'debug']),
                                        ('dmc_walker_walk', ['--configs', 'dmc_vision', 'debug'])])
def test_train_debug(entry, tmp_path, task, extra):
  logdir = tmp_path / 'run'
  entry(TRAIN, *extra, '--task', task, '--logdir', logdir)
  assert_finite_losses(logdir)
  scores = read_jsonl(logdir / 'scores.jsonl')
  assert scores and all(math.isfinite(s['return']) for s in scores)
  assert scores[0]['task'] == task and scores[0]['method'] == 'dreamerv2'
  preset = extra[1] + '+debug'
  assert all((s['seed'], s['preset']) == (0, preset) for s in scores)
  run = json.loads((logdir / 'run.json').read_text())
  assert (run['method'], run['task'], run['seed'], run['preset']) == ('dreamerv2', task, 0, preset)
  # The checkout's commit, or None where there is no git (a fresh Debian, the Docker image).
  assert run['commit'] == identity.git_state()[0] and run['command'][1].endswith(TRAIN)
  if task.startswith('metaworld'):
    assert 0.0 <= scores[0]['success'] <= 1.0
  assert list((logdir / 'videos').glob('openloop-*.mp4'))
  assert list(logdir.glob('events.out.tfevents.*'))


def test_resume_after_sigkill(tmp_path):
  logdir = tmp_path / 'run'
  cmd = [sys.executable, str(ROOT / TRAIN), '--configs', 'debug', '--steps', '2000', '--save_every', '100',
         '--log_videos', 'False', '--logdir', str(logdir)]
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
  episodes = logdir / 'train_episodes'
  deadline = time.time() + 300
  while time.time() < deadline and proc.poll() is None:
    if (logdir / 'checkpoint' / 'latest').exists() and len(list(episodes.glob('*.npz'))) >= 12:
      break
    time.sleep(0.2)
  assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  before = {p.name for p in episodes.glob('*.npz')}
  saved = json.loads((logdir / 'checkpoint' / (logdir / 'checkpoint' / 'latest').read_text() / 'extra.json').read_text())
  assert saved['updates'] > 0
  out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert 'Resumed from checkpoint' in out.stdout
  after = {p.name for p in episodes.glob('*.npz')}
  assert before <= after, 'episodes were lost'
  lengths = [int(name.rsplit('-', 1)[1][:-4]) for name in after]
  # Every episode file counts once: the frame counter equals the saved steps.
  rows = read_jsonl(logdir / 'metrics.jsonl')
  assert max(r['step'] for r in rows) == sum(lengths) >= 2000
  # The last row may be the final evaluation's; the last perf row has the update count.
  assert [r for r in rows if 'perf/updates' in r][-1]['perf/updates'] > saved['updates']
  # No warm-up again: the update count continues from the checkpoint.
  assert 'Warm-up' not in out.stdout


@pytest.mark.parametrize('args,message', [
    (['--configs', 'debug', '--no_such_key', '1'], "Unknown config key 'no_such_key'"),
    (['--configs', 'nope'], "Unknown config 'nope'"),
    (['--configs', 'debug', '--task', 'metaworld_no_such_task'], 'Unknown Meta-world task'),
    (['--configs', 'debug', '--task', 'atari_pong'], "Unknown task 'atari_pong'"),
    (['--configs', 'debug', '--steps', 'many'], 'Expected int'),
])
def test_bad_input_one_line_error(entry, tmp_path, args, message):
  proc = entry(TRAIN, *args, '--logdir', tmp_path / 'run', check=False)
  assert proc.returncode == 2
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]
  assert 'Traceback' not in proc.stderr


def test_logdir_is_a_file(entry, tmp_path):
  path = tmp_path / 'file'
  path.write_text('x')
  proc = entry(TRAIN, '--configs', 'debug', '--logdir', path, check=False)
  assert proc.returncode == 2 and 'is a file' in proc.stderr and 'Traceback' not in proc.stderr
