"""From a sweep to a plot: a tiny sweep on the local Ray cluster (interrupted, re-run to
completion, then a no-op), evaluation of one of its runs, and the plot of the sweep.

2 seeds x 1 task x {dreamerv2, apv} on `debug` with a few hundred env frames: the
heaviest test module (four real training runs, two at a time, run once per module).
"""
import json
import os
import pathlib
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
  from apv_ext import video_model
  from dreamerv2 import checkpoint as ckpt_lib
  logdir = tmp_path_factory.mktemp('pretrain')
  config = apv_config.parse(['--configs', 'debug', '--logdir', str(logdir)])
  model = video_model.VideoModel(config)
  b, t = config.dataset.batch, config.dataset.length
  is_first = np.zeros((b, t), bool)
  is_first[:, 0] = True
  images = np.random.default_rng(0).integers(0, 255, (b, t, 64, 64, 3), dtype=np.uint8)
  model.train({'image': tf.constant(images), 'is_first': tf.constant(is_first)})
  ckpt_lib.Checkpoint(logdir / 'checkpoint', model=model).save(1, {'updates': 1})
  config.save(str(logdir / 'config.yaml'))
  return logdir


def command_lines():
  """Every process's command line, from /proc (slim images such as the Docker one have no `ps`)."""
  lines = []
  for proc in pathlib.Path('/proc').iterdir():
    try:
      if proc.name.isdigit():
        lines.append((proc / 'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace').strip())
    except OSError:  # The process ended while we looked.
      continue
  return lines


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


@pytest.fixture(scope='module')
def sweep(tmp_path_factory, pretrained):
  """Runs the sweep three times: interrupted by Ctrl-C, to completion, and once more."""
  sweepdir = tmp_path_factory.mktemp('sweep') / 'sweep'
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
  cmd = sweep_cmd(sweepdir, pretrained)
  out = {'dir': sweepdir}
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
  out['first'], _ = proc.communicate(timeout=120)
  out['first_seconds'], out['first_code'] = time.time() - start, proc.returncode
  out['left_running'] = [args for args in command_lines() if f'--logdir {sweepdir}/' in args]
  # What each interrupted run saved, read now: training on rotates old checkpoints away.
  out['saved'] = [json.loads((p.parent / p.read_text().strip() / 'extra.json').read_text())
                  for p in sweepdir.glob('*/dummy_image/*/checkpoint/latest')]
  out['second'] = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
  stamps = lambda: {p: p.stat().st_mtime_ns for p in sweepdir.rglob('*') if p.is_file() and 'logs' not in p.parts}
  before = stamps()
  out['third'] = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
  out['third_changed'] = before != stamps()
  return out


def test_sweep_interrupt_stops_every_run_within_seconds(sweep):
  out = sweep['first']
  assert sweep['first_code'] == 130, out[-3000:]
  # The sweep signals its runs within a poll (0.25 s); each run then stops at its next safe
  # point (after an env step or update; a first update's graph tracing can take tens of
  # seconds on a loaded 2-core machine), saves and exits.
  assert sweep['first_seconds'] < 90, 'the sweep took over 90 s to stop'
  first = rows(out)
  assert 'interrupted' in first.values() and len(first) == 4, out[-3000:]
  assert set(first.values()) <= {'interrupted', 'not', 'done'}, first
  assert 'Interrupted: re-run the same command' in out
  assert not sweep['left_running'], sweep['left_running']
  assert all(saved['frames'] >= 0 and 'updates' in saved for saved in sweep['saved'])  # Complete checkpoints.


def test_sweep_rerun_completes_and_third_run_trains_nothing(sweep):
  sweepdir, again, third = sweep['dir'], sweep['second'], sweep['third']
  assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
  table = rows(again.stdout)
  assert len(table) == 4 and set(table.values()) <= {'done', 'skipped'}, again.stdout
  for method in ('dreamerv2', 'apv'):
    for seed in (0, 1):
      run = sweepdir / method / 'dummy_image' / str(seed)
      scores = [json.loads(l) for l in (run / 'scores.jsonl').read_text().splitlines()]
      assert scores[-1]['step'] >= 100 and {(s['method'], s['seed'], s['preset']) for s in scores} == {
          (method, seed, 'debug')}
      assert json.loads((run / 'run.json').read_text())['method'] == method
  assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
  assert '4 already done, 0 to run' in third.stdout
  assert set(rows(third.stdout).values()) == {'skipped'}
  assert not sweep['third_changed'], 'the third sweep changed files in the runs'


def test_evaluate_writes_json_and_upscaled_videos(entry, sweep):
  import imageio
  run = sweep['dir'] / 'apv' / 'dummy_image' / '0'
  out = entry('scripts/evaluate.py', '--logdir', run, '--episodes', '2', '--video')
  assert 'return' in out.stdout
  (result,) = (run / 'evaluate').glob('*.json')
  record = json.loads(result.read_text())
  assert record['method'] == 'apv' and record['episodes'] == 2 and int(result.stem) == record['step'] > 0
  assert len(record['returns']) == len(record['lengths']) == 2 and all(l > 0 for l in record['lengths'])
  videos = sorted((run / 'evaluate').glob('*.mp4'))
  assert [v.name for v in videos] == record['videos'] and len(videos) == 2
  frame = imageio.v3.imread(videos[0], index=0)
  assert min(frame.shape[:2]) >= 256
  bad = entry('scripts/evaluate.py', '--logdir', run, '--checkpoint', '12345', check=False)
  assert bad.returncode == 2 and 'available steps' in bad.stderr


def test_plot_of_the_sweep_writes_a_png(entry, sweep, tmp_path):
  out = entry('scripts/plot.py', sweep['dir'], '--out', tmp_path / 'curves.png', '--reps', '200')
  png = (tmp_path / 'curves.png').read_bytes()
  assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000
  assert 'dreamerv2 [debug]' in out.stdout and 'apv [debug]' in out.stdout and 'IQM of return' in out.stdout


def test_bad_sweeps_are_one_line_errors(entry, tmp_path):
  base = ['--tasks', 'dummy_image', '--logdir', tmp_path / 'sweep', '--configs', 'debug']
  for extra, message in ((['--methods', 'apv_nope'], 'Unknown method'),
                         (['--methods', 'apv'], '--load_logdir'),
                         (['--methods', 'dreamerv2', '--no_such_key', '1'], "Unknown config key 'no_such_key'")):
    proc = entry(SWEEP, *base, *extra, check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert proc.returncode == 2 and len(errors) == 1 and message in errors[0], proc.stderr
  assert not (tmp_path / 'sweep').exists()
