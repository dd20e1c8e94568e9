"""Compare runs (their scores.jsonl) with the paper's per-seed curves.

  python scripts/compare.py logs/apv_* logs/dv2_*
Prints, per task, each (method, preset)'s mean over seeds at every evaluation step next to the
paper's DreamerV2 and APV curves, then the IQM over runs x tasks at the last step
all runs reached, with 95% stratified-bootstrap intervals. Metric: success rate for
Meta-world, return for DMC.
"""
import argparse
import collections
import sys

import numpy as np


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('paths', nargs='+', help='logdirs or scores.jsonl files')
  parser.add_argument('--reference', default=None, help='folder with the paper pkl files (default: apv_ext/reference/)')
  parser.add_argument('--reps', type=int, default=2000)
  args = parser.parse_args()
  sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent.parent))
  from apv_ext import results
  runs = results.load_runs(args.paths)
  if not runs:
    sys.exit(f'error: no scores.jsonl under {args.paths}')
  reference = results.load_reference(args.reference or results.REFERENCE)
  metric = lambda task: 'success' if task.startswith('metaworld') else 'return'
  tasks = sorted({task for _, _, task in runs})
  finals = collections.defaultdict(dict)
  off_grid = set()
  for task in tasks:
    # Groups are (method, preset): runs of different presets are never pooled.
    ours = {f'{m} [{p}]': seeds for (m, p, t), seeds in runs.items() if t == task}
    paper = {m: v for (m, t), v in reference.items() if t == task}
    steps = sorted({s for seeds in ours.values() for curve in seeds.values() for s, _ in curve})
    print(f'\n{task} ({metric(task)}; ours: mean over seeds, paper: mean over 8 seeds at the nearest paper step)')
    header = [f'{m} (n={len(s)})' for m, s in ours.items()] + [f'paper {m}' for m in paper]
    print(f'{"step":>8} ' + ' '.join(f'{h:>22}' for h in header))
    for step in steps:
      cells = []
      for seeds in ours.values():
        vals = [r[metric(task)] for curve in seeds.values() for s, r in curve if s == step]
        cells.append(f'{np.mean(vals):.3f}' if vals else '')
      for ref_steps, values in paper.values():
        i = results.nearest(ref_steps, step)
        if ref_steps[i] != step:
          off_grid.add((task, step, int(ref_steps[i])))
        cells.append(f'{values[:, i].mean():.3f}')
      print(f'{step:>8} ' + ' '.join(f'{c:>22}' for c in cells))
    last = min(max(s for s, _ in curve) for seeds in ours.values() for curve in seeds.values())
    for group, seeds in ours.items():
      finals[group][task] = [next(r[metric(task)] for s, r in curve if s == last) for curve in seeds.values()
                             if any(s == last for s, _ in curve)]
    for method, (ref_steps, values) in paper.items():
      finals[f'paper {method}'][task] = values[:, results.nearest(ref_steps, last)]
  if off_grid:
    pairs = ', '.join(f'{task} {ours}->{ref}' for task, ours, ref in sorted(off_grid))
    print(f'\nNote: eval steps off the paper\'s grid were matched to the nearest paper step: {pairs}')
  print('\nIQM over runs x tasks at each task\'s last common step, with 95% stratified bootstrap CI:')
  for method, scores in finals.items():
    low, high = results.stratified_bootstrap_ci(scores, args.reps)
    allv = np.concatenate([np.asarray(v, np.float64) for v in scores.values()])
    print(f'  {method:<36} IQM {results.iqm(allv):8.3f}  [{low:.3f}, {high:.3f}]  ({len(scores)} tasks, {len(allv)} runs)')


if __name__ == '__main__':
  main()
