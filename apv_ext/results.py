"""Comparing runs with the APV paper: runs' scores.jsonl, the paper's per-seed curves, IQM with stratified bootstrap CIs.

Aggregates follow Agarwal et al. 2021 (rliable): the interquartile mean over all
runs x tasks, and confidence intervals from resampling runs within each task.
"""
import collections
import json
import pathlib
import pickle
import sys
import warnings

import numpy as np

from dreamerv2 import jsonl

# The paper's curves ship as package data beside this module.
REFERENCE = pathlib.Path(__file__).resolve().parent / 'reference'


def _preset(folder):
  """A run's preset for score lines written before lines carried it: from its run.json or config.yaml."""
  try:
    return json.loads((folder / 'run.json').read_text())['preset']
  except (OSError, ValueError, KeyError):
    pass
  try:
    import ruamel.yaml
    return ruamel.yaml.YAML(typ='safe').load((folder / 'config.yaml').read_text())['preset'] or '?'
  except (OSError, KeyError, TypeError, ValueError):
    return '?'


def load_runs(paths, warn=None):
  """{(method, preset, task): {(seed, logdir): [(step, record), ...]}} from scores.jsonl files under `paths`.

  Runs are grouped by method *and* preset: a `debug` and a `small` run are never pooled.
  Unreadable lines (cut by a kill or a full disk) and repeated records of one step are
  skipped and counted through `warn(message)` (default: printed to stderr);
  `jsonl.read` is the same line reader for other JSON-lines files (metrics.jsonl).
  """
  runs = collections.defaultdict(dict)
  for path in paths:
    path = pathlib.Path(path)
    files = [path] if path.is_file() else sorted(path.rglob('scores.jsonl'))
    for file in files:
      records, _ = jsonl.read(file, required=('method', 'task', 'seed', 'step'), warn=warn)
      seen, repeats = set(), 0
      for r in records:
        if (r['method'], r['task'], r['seed'], r['step']) in seen:
          repeats += 1  # Written twice by runs from before evaluations were recorded once per step.
          continue
        seen.add((r['method'], r['task'], r['seed'], r['step']))
        preset = r.get('preset') or _preset(file.parent)
        runs[(r['method'], preset, r['task'])].setdefault((r['seed'], str(file.parent)), []).append((r['step'], r))
      if repeats:
        (warn or _stderr)(f'{file}: skipped {repeats} repeated evaluation record(s) (same step); kept the first.')
  return runs


def _stderr(message):
  print(message, file=sys.stderr)


def nearest(ref_steps, step):
  """Index of the paper's evaluation step nearest to `step` (runs may evaluate off the paper's grid)."""
  return int(np.argmin(np.abs(np.asarray(ref_steps) - step)))


def load_reference(directory=REFERENCE):
  """{(method, task): (steps, values [seeds, points])} for the paper's Meta-world and DMC curves."""
  out = {}
  grids = {'metaworld_raw_data.pkl': (5000, 10000), 'dmc_raw_data.pkl': (2000, 20000)}
  for name, (first, every) in grids.items():
    with open(pathlib.Path(directory) / name, 'rb') as f:
      data = pickle.load(f)
    for method, tasks in data.items():
      for task, values in tasks.items():
        values = np.asarray(values, np.float64)
        out[(method, task)] = (first + every * np.arange(values.shape[1]), values)
  return out


def iqm(values):
  """Interquartile mean: the mean after dropping the lowest and highest 25% (scipy's trim_mean)."""
  values = np.sort(np.asarray(values, np.float64).ravel())
  cut = int(0.25 * len(values))
  return float(values[cut: len(values) - cut].mean())


def stratified_bootstrap_ci(scores, reps=2000, alpha=0.05, seed=0):
  """(1 - alpha) CI of the IQM over runs x tasks, by rliable's stratified bootstrap (runs resampled
  within each task). scores: {task: per-run values}; rliable needs a runs x tasks matrix,
  so tasks with more runs than the others contribute their first runs only."""
  from rliable import library as rly
  from rliable import metrics
  count = min(len(v) for v in scores.values())
  matrix = np.stack([np.asarray(v, np.float64)[:count] for v in scores.values()], axis=1)
  with warnings.catch_warnings():  # arch, under rliable, deprecates the RandomState rliable passes.
    warnings.simplefilter('ignore', FutureWarning)
    _, intervals = rly.get_interval_estimates(
        {'x': matrix}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps,
        confidence_interval_size=1 - alpha, random_state=np.random.RandomState(seed))
  return float(intervals['x'][0, 0]), float(intervals['x'][1, 0])
