"""Scores, the paper's reference curves and the IQM aggregate."""
import json

import numpy as np

from dreamerv2 import results


def naive_iqm(values):
  values = sorted(values)
  n = len(values)
  keep = [v for i, v in enumerate(values) if n // 4 <= i < n - n // 4]
  return sum(keep) / len(keep)


def test_iqm_matches_naive_and_scipy_definition():
  rng = np.random.default_rng(0)
  for n in (4, 7, 8, 13, 48):
    values = rng.normal(size=n)
    assert abs(results.iqm(values) - naive_iqm(list(values))) < 1e-12
  assert results.iqm([0, 0, 1, 1, 1, 1, 100, 100]) == 1.0  # The outer quarters drop out.


def test_bootstrap_ci_brackets_iqm_and_collapses_without_variance():
  scores = {'a': np.linspace(0, 1, 8), 'b': np.linspace(0.5, 1, 8)}
  low, high = results.stratified_bootstrap_ci(scores, reps=500)
  point = results.iqm(np.concatenate(list(scores.values())))
  assert low <= point <= high and low < high
  assert results.stratified_bootstrap_ci({'a': np.ones(5)}, reps=50) == (1.0, 1.0)


def test_reference_curves_follow_the_protocol_grid():
  ref = results.load_reference()
  steps, values = ref[('APV', 'metaworld_reach')]
  assert values.shape == (8, 25) and steps[0] == 5000 and steps[-1] == 245000
  steps, values = ref[('DreamerV2', 'dmc_quadruped_walk')]
  assert values.shape == (8, 50) and steps[0] == 2000 and steps[1] == 22000


def test_load_runs_groups_by_method_task_and_seed(tmp_path):
  for seed in (0, 1):
    run = tmp_path / f'run{seed}'
    run.mkdir()
    lines = [{'step': s, 'success': 0.5, 'return': 1.0, 'method': 'apv', 'task': 'metaworld_reach', 'seed': seed}
             for s in (5000, 15000)]
    (run / 'scores.jsonl').write_text('\n'.join(json.dumps(l) for l in lines) + '\n')
  runs = results.load_runs([tmp_path])
  assert list(runs) == [('apv', 'metaworld_reach')] and len(runs[('apv', 'metaworld_reach')]) == 2
