"""Smoke tests of the scripts a user runs: collector, pipeline, transfer check, compare, benchmark."""
import json

import numpy as np


def test_collector_script(entry, tmp_path):
  out = entry('scripts/collect_metaworld_videos.py', '--out', tmp_path, '--tasks', 'window_close', '--episodes', '1',
              '--length', '10', '--fast_render')
  assert 'Wrote 1 episodes' in out.stdout
  video = np.load(tmp_path / 'window_close-0.npz')
  assert video['image'].shape == (11, 64, 64, 3) and set(video.files) >= {'image', 'action', 'reward', 'success'}
  again = entry('scripts/collect_metaworld_videos.py', '--out', tmp_path, '--tasks', 'window_close', '--episodes', '1',
                '--length', '10', '--fast_render')
  assert 'already' in again.stdout
  bad = entry('scripts/collect_metaworld_videos.py', '--out', tmp_path, '--tasks', 'nope', check=False)
  assert bad.returncode != 0 and 'unknown Meta-world tasks' in bad.stderr


def test_pipeline_on_debug(entry, tmp_path):
  out = entry('scripts/pipeline.py', '--logdir', tmp_path, '--configs', 'debug', '--pretrain_steps', '10')
  assert 'Scores per eval' in out.stdout
  scores = [json.loads(l) for l in (tmp_path / 'finetune' / 'scores.jsonl').read_text().splitlines()]
  assert scores and scores[0]['method'] == 'apv'


def test_transfer_check_on_debug(entry, tmp_path):
  out = entry('scripts/transfer_check.py', '--logdir', tmp_path, '--configs', 'debug', '--pretrain_steps', '5',
              '--episodes', '3', '--seeds', '1', '--updates', '3', '--report', '0', '3')
  rows = [line.split() for line in out.stdout.splitlines() if line.strip().startswith(('0 ', '3 '))]
  assert len(rows) == 2 and all(np.isfinite(float(row[1])) for row in rows)


def test_compare_script(entry, tmp_path):
  lines = [{'step': s, 'success': 0.5, 'return': 10.0, 'method': 'apv', 'task': 'metaworld_reach', 'seed': 0}
           for s in (5000, 15000)]
  (tmp_path / 'scores.jsonl').write_text(''.join(json.dumps(l) + '\n' for l in lines))
  out = entry('scripts/compare.py', tmp_path)
  assert 'paper APV' in out.stdout and 'IQM' in out.stdout
  row = [l for l in out.stdout.splitlines() if l.strip().startswith('15000')][0].split()
  assert row[1] == '0.500' and len(row) == 4  # ours, paper DreamerV2, paper APV at 15K.


def test_benchmark_on_debug_sizes(entry, tmp_path):
  out = entry('scripts/benchmark.py', '--extra_configs', 'debug', '--repeats', '1', '--env_seconds', '1',
              '--data_dir', tmp_path, '--only', 'apv_paper', 'pretrain_paper', 'loader_cache',
              'convert_npz', 'dmc')  # dv2_* rows take apv_paper's path with another agent class.
  table = out.stdout
  for name in ('apv_paper', 'pretrain_paper', 'loader_cache', 'convert_npz', 'dmc'):
    assert name in table
  # Update rows: FLOPs from the HLO, GFLOP/s, the fp32/bf16 matmul peaks and % of peak.
  rows = [l.split() for l in table.splitlines() if l.split()[:1] in (['apv_paper'], ['pretrain_paper'])]
  assert len(rows) == 3, table
  for row in rows:
    pct = next(i for i, v in enumerate(row) if v.endswith('%'))
    gflop, gflops, peaks = float(row[pct - 3]), float(row[pct - 2]), row[pct - 1].split('/')
    assert gflop > 0 and gflops > 0 and float(peaks[0]) > 0 and float(peaks[1]) > 0
    assert abs(float(row[pct][:-1]) - 100 * gflops / float(peaks[0])) <= 1.0  # fp32: % of the fp32 peak.
    assert row[pct + 1].endswith('%') and float(row[pct + 1][:-1]) > 0  # Per CPU second.
  assert 'ms/update' in table and 'peak RSS' in table


def test_collector_module_failure_is_one_line(tmp_path):
  """`python -m apv_ext.collect` as train_video.py runs it: a failure's traceback goes to
  $APV_ERROR_FILE and the exit code is 1."""
  import os
  import subprocess
  import sys
  from conftest import ROOT
  error_file = tmp_path / 'error.txt'
  (tmp_path / 'file').write_text('')  # --out under a file: the collection cannot write.
  env = {**os.environ, 'APV_ERROR_FILE': str(error_file), 'PYTHONPATH': str(ROOT)}
  proc = subprocess.run([sys.executable, '-m', 'apv_ext.collect', '--out', str(tmp_path / 'file' / 'out'),
                         '--tasks', 'window_close', '--episodes', '1', '--length', '2'],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
  assert proc.returncode == 1, proc.stderr[-2000:]
  lines = error_file.read_text().strip().splitlines()
  assert lines[0].startswith('Traceback') and lines[-1].startswith(('FileExistsError', 'NotADirectoryError'))
