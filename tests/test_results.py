"""Scores, the paper's reference curves and the IQM aggregate."""
import json

import numpy as np

from apv_ext import results


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


def test_load_runs_groups_by_method_preset_task_and_seed(tmp_path):
  for seed, preset in ((0, 'metaworld'), (1, 'metaworld'), (2, 'metaworld+debug')):
    run = tmp_path / f'run{seed}'
    run.mkdir()
    lines = [{'step': s, 'success': 0.5, 'return': 1.0, 'method': 'apv', 'task': 'metaworld_reach', 'seed': seed,
              'preset': preset} for s in (5000, 15000)]
    (run / 'scores.jsonl').write_text('\n'.join(json.dumps(l) for l in lines) + '\n{"step": 2')  # A cut last line.
  runs = results.load_runs([tmp_path])
  assert sorted(runs) == [('apv', 'metaworld', 'metaworld_reach'), ('apv', 'metaworld+debug', 'metaworld_reach')]
  assert len(runs[('apv', 'metaworld', 'metaworld_reach')]) == 2
  assert len(runs[('apv', 'metaworld+debug', 'metaworld_reach')]) == 1


def test_nearest_paper_point():
  steps = 5000 + 10000 * np.arange(25)
  assert results.nearest(steps, 400) == 0 and results.nearest(steps, 15000) == 1 and results.nearest(steps, 21000) == 2


def test_plot_aggregate_is_the_naive_iqm_and_presets_stay_apart(tmp_path):
  from apv_ext import plot
  rng = np.random.default_rng(1)
  finals = {}
  for preset in ('metaworld', 'metaworld+small'):
    for task in ('metaworld_reach', 'metaworld_drawer_open'):
      for seed in range(3):
        run = tmp_path / preset / task / str(seed)
        run.mkdir(parents=True)
        values = rng.uniform(size=2)
        finals.setdefault(preset, []).append(values[-1])
        lines = [{'step': s, 'success': float(v), 'return': 0.0, 'method': 'apv', 'task': task, 'seed': seed,
                  'preset': preset} for s, v in zip((5000, 14000), values)]
        (run / 'scores.jsonl').write_text(''.join(json.dumps(l) + '\n' for l in lines))
  notes = []
  summary = plot.plot([tmp_path], tmp_path / 'curves.png', reps=200, log=notes.append)
  assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG'
  agg = summary['success']
  for preset, values in finals.items():
    iqm, low, high, tasks, runs = agg[f'apv [{preset}]']
    assert abs(iqm - naive_iqm(values)) < 1e-12 and (tasks, runs) == (2, 6) and low <= iqm <= high
  ref = results.load_reference()
  paper = np.concatenate([ref[('APV', t)][1][:, 1] for t in ('metaworld_drawer_open', 'metaworld_reach')])
  assert abs(agg['paper APV'][0] - naive_iqm(list(paper))) < 1e-12  # 14000 -> the paper's 15000 point.
  assert any('metaworld_reach 14000->15000' in n for n in notes)
