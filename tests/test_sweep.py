"""A tiny sweep on the local Ray cluster: interrupted, re-run to completion, then a no-op.

2 seeds x 1 task x {dreamerv2, apv} on `debug` with a few hundred env frames: the
heaviest test here (four real training runs, two at a time).
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT

SWEEP = 'scripts/sweep.py'
TINY = ['--steps', '300', '--prefill', '100', '--eval_every', '200', '--save_every', '100', '--log_videos', 'False']


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  """A debug pre-training logdir, written the way train_video.py writes it."""
  import numpy as np
  import tensorflow as tf
  from apv_ext import config as apv_config
  from apv_ext import pretrain
  from dreamerv2 import checkpoint as ckpt_lib
  logdir = tmp_path_factory.mktemp('pretrain')
  config = apv_config.parse(['--configs', 'debug', '--logdir', str(logdir)])
  model = pretrain.VideoModel(config)
  b, t = config.dataset.batch, config.dataset.length
  is_first = np.zeros((b, t), bool)
  is_first[:, 0] = True
  images = np.random.default_rng(0).integers(0, 255, (b, t, 64, 64, 3), dtype=np.uint8)
  model.train({'image': tf.constant(images), 'is_first': tf.constant(is_first)})
  ckpt_lib.Checkpoint(logdir / 'checkpoint', model=model).save(1, {'updates': 1})
  config.save(str(logdir / 'config.yaml'))
  return logdir


def sweep_cmd(sweepdir, pretrained):
  return [sys.executable, str(ROOT / SWEEP), '--configs', 'debug', '--tasks', 'dummy_image', '--seeds', '0', '1',
          '--methods', 'dreamerv2', 'apv', '--load_logdir', str(pretrained), '--logdir', str(sweepdir),
          '--num_cpus', '2', *TINY]


def rows(stdout):
  """{(method, seed): status} from the final table."""
  out = {}
  for line in stdout.splitlines():
    cells = line.split()
    if len(cells) >= 4 and cells[0] in ('dreamerv2', 'apv') and cells[1] == 'dummy_image':
      out[(cells[0], cells[2])] = cells[3]
  return out


def test_sweep_interrupt_resume_and_skip(tmp_path, pretrained):
  sweepdir = tmp_path / 'sweep'
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
  cmd = sweep_cmd(sweepdir, pretrained)
  # Ctrl-C as a terminal sends it: SIGINT to the sweep's whole process group.
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
                          start_new_session=True)
  deadline = time.time() + 300
  while time.time() < deadline and proc.poll() is None:
    if list(sweepdir.glob('*/dummy_image/*/train_episodes/*.npz')):
      break
    time.sleep(0.2)
  assert proc.poll() is None, proc.stdout.read()[-3000:]
  os.killpg(proc.pid, signal.SIGINT)
  start = time.time()
  out, _ = proc.communicate(timeout=120)
  assert time.time() - start < 60, 'the sweep took over a minute to stop'
  assert proc.returncode == 130, out[-3000:]
  first = rows(out)
  assert 'interrupted' in first.values(), out[-3000:]
  assert all(status in ('interrupted', 'not', 'done') for status in first.values()), first
  assert not [line for line in os.popen('ps -eo args').read().splitlines() if str(sweepdir) in line and 'train' in line]
  for latest in sweepdir.glob('*/dummy_image/*/checkpoint/latest'):  # Whatever was saved is complete.
    assert json.loads((latest.parent / latest.read_text().strip() / 'extra.json').read_text())['frames'] >= 0

  again = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
  assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
  assert set(rows(again.stdout).values()) <= {'done', 'skipped'} and len(rows(again.stdout)) == 4, again.stdout
  for method in ('dreamerv2', 'apv'):
    for seed in (0, 1):
      run = sweepdir / method / 'dummy_image' / str(seed)
      scores = [json.loads(l) for l in (run / 'scores.jsonl').read_text().splitlines()]
      assert scores[-1]['step'] >= 100 and {(s['method'], s['seed'], s['preset']) for s in scores} == {
          (method, seed, 'debug')}
      assert json.loads((run / 'run.json').read_text())['method'] == method

  stamps = {p: p.stat().st_mtime_ns for p in sweepdir.rglob('*') if p.is_file() and 'logs' not in p.parts}
  third = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
  assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
  assert '4 already done, 0 to run' in third.stdout
  assert set(rows(third.stdout).values()) == {'skipped'}
  assert stamps == {p: p.stat().st_mtime_ns for p in sweepdir.rglob('*') if p.is_file() and 'logs' not in p.parts}


def test_bad_sweeps_are_one_line_errors(entry, tmp_path):
  base = ['--tasks', 'dummy_image', '--logdir', tmp_path / 'sweep', '--configs', 'debug']
  for extra, message in ((['--methods', 'apv_nope'], 'Unknown method'),
                         (['--methods', 'apv'], '--load_logdir'),
                         (['--methods', 'dreamerv2', '--no_such_key', '1'], "Unknown config key 'no_such_key'")):
    proc = entry(SWEEP, *base, *extra, check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert proc.returncode == 2 and len(errors) == 1 and message in errors[0], proc.stderr
  assert not (tmp_path / 'sweep').exists()
