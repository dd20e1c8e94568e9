"""Learning curves and the aggregate IQM of runs and sweeps, beside the paper's.

  python scripts/plot.py SWEEPDIR [RUN ...] --out curves.png

One panel per task: for each (method, preset) the mean over seeds of the success rate
(Meta-world) or return, with a shaded 95% bootstrap confidence band over seeds, and
the paper's DreamerV2 and APV curves (reference/*.pkl, 8 seeds) dashed. Then one
aggregate panel per metric: the IQM over runs x tasks at each task's last common
evaluation step, with 95% stratified-bootstrap CIs (rliable), next to the paper's at
the nearest step of its evaluation grid. Presets are never pooled. Steps off the
paper's grid are matched to the nearest paper point, and the output says so.
"""
import argparse
import collections
import pathlib
import sys
import warnings

import numpy as np

REPS = 1000


def metric_of(task):
  return 'success' if task.startswith('metaworld') else 'return'


def mean_ci(values, reps=REPS, seed=0):
  """(mean, low, high) over runs: the 95% percentile bootstrap of the mean (rliable)."""
  from rliable import library as rly
  values = np.asarray(values, np.float64).reshape(-1, 1)
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', FutureWarning)
    point, interval = rly.get_interval_estimates(
        {'x': values}, lambda x: np.array([x.mean()]), reps=reps, random_state=np.random.RandomState(seed))
  return float(point['x'][0]), float(interval['x'][0, 0]), float(interval['x'][1, 0])


def curves(runs, task):
  """{group label: (steps, [mean], [low], [high], seeds)} of our runs on one task."""
  out = {}
  key = metric_of(task)
  for (method, preset, t), seeds in sorted(runs.items()):
    if t != task:
      continue
    by_step = collections.defaultdict(list)
    for curve in seeds.values():
      for step, record in curve:
        if key in record:
          by_step[step].append(record[key])
    steps = sorted(by_step)
    stats = np.array([mean_ci(by_step[s]) for s in steps]).reshape(-1, 3)
    out[f'{method} [{preset}]'] = (np.array(steps), stats[:, 0], stats[:, 1], stats[:, 2], len(seeds))
  return out


def final_scores(runs, reference, tasks):
  """{group: {task: per-run values}} at each task's last step all of its runs reached, the paper's
  at its nearest grid step; and the off-grid matches made, as (task, our step, paper step)."""
  from apv_ext import results
  finals, off_grid = collections.defaultdict(dict), []
  for task in tasks:
    key = metric_of(task)
    ours = {(m, p): seeds for (m, p, t), seeds in runs.items() if t == task}
    last = min(max(s for s, _ in curve) for seeds in ours.values() for curve in seeds.values())
    for (method, preset), seeds in ours.items():
      values = [r[key] for curve in seeds.values() for s, r in curve if s == last and key in r]
      if values:
        finals[f'{method} [{preset}]'][task] = values
    for (method, t), (steps, values) in reference.items():
      if t == task:
        i = results.nearest(steps, last)
        if steps[i] != last:
          off_grid.append((task, last, int(steps[i])))
        finals[f'paper {method}'][task] = values[:, i]
  return finals, sorted(set(off_grid))


def aggregate(finals, reps=2000):
  """{group: (IQM, low, high, tasks, runs)} over runs x tasks, for groups covering the same tasks."""
  from apv_ext import results
  out = {}
  for group, scores in finals.items():
    allv = np.concatenate([np.asarray(v, np.float64) for v in scores.values()])
    low, high = results.stratified_bootstrap_ci(scores, reps)
    out[group] = (results.iqm(allv), low, high, len(scores), len(allv))
  return out


def plot(paths, out, reference_dir=None, reps=2000, log=print):
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  from apv_ext import results
  from dreamerv2.errors import UserError

  runs = results.load_runs(paths)
  if not runs:
    raise UserError(f'No scores.jsonl under {" ".join(map(str, paths))}: expected run logdirs or sweep folders.')
  reference = results.load_reference(reference_dir or results.REFERENCE)
  tasks = sorted({t for _, _, t in runs})
  by_metric = collections.defaultdict(list)
  for task in tasks:
    by_metric[metric_of(task)].append(task)
  panels = len(tasks) + len(by_metric)
  cols = min(3, panels)
  rows = -(-panels // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
  axes = list(axes.ravel())
  groups = sorted({f'{m} [{p}]' for m, p, _ in runs})
  colors = {g: plt.cm.tab10(i % 10) for i, g in enumerate(groups)}
  paper_style = {'DreamerV2': ('tab:gray', '--'), 'APV': ('black', '--')}

  for ax, task in zip(axes, tasks):
    for label, (steps, mean, low, high, seeds) in curves(runs, task).items():
      ax.plot(steps, mean, marker='o', markersize=3, color=colors[label], label=f'{label} (n={seeds})')
      ax.fill_between(steps, low, high, color=colors[label], alpha=0.25, linewidth=0)
    for (method, t), (steps, values) in sorted(reference.items()):
      if t != task:
        continue
      color, style = paper_style.get(method, ('tab:brown', '--'))
      mean = values.mean(0)
      stats = np.array([mean_ci(values[:, i]) for i in range(values.shape[1])])
      ax.plot(steps, mean, style, color=color, label=f'paper {method} (n={values.shape[0]})')
      ax.fill_between(steps, stats[:, 1], stats[:, 2], color=color, alpha=0.12, linewidth=0)
    ax.set_title(task)
    ax.set_xlabel('env frames')
    ax.set_ylabel(metric_of(task))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)

  notes = []
  summary = {}
  for ax, (key, metric_tasks) in zip(axes[len(tasks):], sorted(by_metric.items())):
    finals, off_grid = final_scores(runs, reference, metric_tasks)
    notes += off_grid
    agg = aggregate(finals, reps)
    summary[key] = agg
    names = list(agg)
    for i, name in enumerate(names):
      iqm, low, high, ntasks, nruns = agg[name]
      color = colors.get(name) or paper_style.get(name.replace('paper ', ''), ('tab:brown', ''))[0]
      ax.errorbar([iqm], [i], xerr=[[iqm - low], [high - iqm]], fmt='o', color=color, capsize=4)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([f'{n}\n({agg[n][3]} tasks, {agg[n][4]} runs)' for n in names], fontsize=7)
    ax.set_xlabel(f'IQM of {key} (95% stratified bootstrap CI)')
    ax.set_title(f'Aggregate over {len(metric_tasks)} task(s), last common step')
    ax.grid(alpha=0.3, axis='x')
  for ax in axes[panels:]:
    ax.axis('off')
  if notes:
    text = 'Off the paper\'s eval grid, matched to the nearest paper step: ' + ', '.join(
        f'{task} {ours}->{ref}' for task, ours, ref in notes)
    fig.text(0.01, 0.003, text, fontsize=7, va='bottom')
    log('Note: ' + text)
  fig.tight_layout(rect=(0, 0.03 if notes else 0, 1, 1))
  out = pathlib.Path(out)
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = out.with_name('tmp-' + out.name)
  fig.savefig(tmp, dpi=110, format=out.suffix.lstrip('.') or 'png')
  plt.close(fig)
  tmp.replace(out)
  for key, agg in summary.items():
    log(f'IQM of {key} over runs x tasks (95% stratified bootstrap CI):')
    for name, (iqm, low, high, ntasks, nruns) in agg.items():
      log(f'  {name:<36} {iqm:8.3f}  [{low:.3f}, {high:.3f}]  ({ntasks} tasks, {nruns} runs)')
  log(f'Wrote {out}')
  return summary


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('paths', nargs='+', help='run logdirs, sweep folders or scores.jsonl files')
  parser.add_argument('--out', default='curves.png')
  parser.add_argument('--reference', default=None, help='folder with the paper pkl files (default: reference/)')
  parser.add_argument('--reps', type=int, default=2000, help='bootstrap replications of the aggregate CIs')
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  from dreamerv2.errors import UserError
  try:
    plot(args.paths, args.out, args.reference, args.reps)
  except UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  main()
