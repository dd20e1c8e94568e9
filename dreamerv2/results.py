"""Reading runs' scores.jsonl and the paper's per-seed curves; IQM with stratified bootstrap CIs.

Aggregates follow Agarwal et al. 2021 (rliable): the interquartile mean over all
runs x tasks, and confidence intervals from resampling runs within each task.
"""
import collections
import json
import pathlib
import pickle

import numpy as np

# The paper's curves ship as package data of apv_ext (a path only: dreamerv2 never imports apv_ext).
REFERENCE = pathlib.Path(__file__).resolve().parent.parent / 'apv_ext' / 'reference'


def load_runs(paths):
  """{(method, task): {seed: [(step, record), ...]}} from scores.jsonl files under `paths`."""
  runs = collections.defaultdict(dict)
  for path in paths:
    path = pathlib.Path(path)
    files = [path] if path.is_file() else sorted(path.rglob('scores.jsonl'))
    for file in files:
      records = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
      for r in records:
        runs[(r['method'], r['task'])].setdefault((r['seed'], str(file.parent)), []).append((r['step'], r))
  return runs


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
  """95% CI of the IQM; scores: {task: array of per-run values}, runs resampled within each task."""
  rng = np.random.default_rng(seed)
  stats = []
  for _ in range(reps):
    sample = [np.asarray(v)[rng.integers(len(v), size=len(v))] for v in scores.values()]
    stats.append(iqm(np.concatenate(sample)))
  return float(np.quantile(stats, alpha / 2)), float(np.quantile(stats, 1 - alpha / 2))
