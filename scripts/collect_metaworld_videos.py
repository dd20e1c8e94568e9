"""Collect expert videos of Meta-world tasks for action-free pre-training.

  python scripts/collect_metaworld_videos.py --out ~/data/mw_videos --episodes 10
Default tasks: every Meta-world task except the paper's six fine-tuning tasks.
Frames match the fine-tuning env (corner camera, upright, 64x64); keep --fast_render
the same as the fine-tuning config's env.fast_render.
"""
import argparse
import os
import sys
import traceback


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--out', required=True)
  parser.add_argument('--tasks', nargs='*', default=None, help='e.g. door_open window_close (default: unseen tasks)')
  parser.add_argument('--episodes', type=int, default=10)
  parser.add_argument('--length', type=int, default=500, help='env steps per episode')
  parser.add_argument('--size', type=int, default=64)
  parser.add_argument('--camera', default='corner')
  parser.add_argument('--fast_render', action='store_true', help='no shadows (10x faster rendering)')
  parser.add_argument('--noise', type=float, default=0.0, help='Gaussian action noise for more varied videos')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  from dreamerv2.envs import gl
  gl.check_backend()  # Before metaworld imports mujoco: a missing GL library is one clear line.
  from apv_ext import collect
  tasks = args.tasks or collect.unseen_tasks()
  known = set(collect.unseen_tasks()) | set(collect.FINETUNE_TASKS)
  unknown = [t for t in tasks if t not in known]
  if unknown:
    sys.exit(f'error: unknown Meta-world tasks {unknown}; known: {sorted(known)}')
  successes = collect.collect(args.out, tasks, args.episodes, args.length, (args.size, args.size), args.camera,
                              args.fast_render, args.noise, args.seed)
  if successes:
    print(f'Wrote {len(successes)} episodes to {args.out}; expert success rate {sum(successes) / len(successes):.2f}.')
  else:
    print(f'All episodes already in {args.out}.')


def run():
  """main() with a failure as one line; the traceback goes to $APV_ERROR_FILE when the caller set it."""
  try:
    main()
  except KeyboardInterrupt:
    sys.exit(130)
  except Exception as e:
    line = f'{type(e).__name__}: {e}'.splitlines()[0]
    error_file = os.environ.get('APV_ERROR_FILE')
    if error_file:
      os.makedirs(os.path.dirname(error_file), exist_ok=True)
      with open(error_file, 'w') as f:
        f.write(traceback.format_exc() + line + '\n')
    else:
      print(f'error: {line}', file=sys.stderr)
      if os.environ.get('DV2_DEBUG'):
        traceback.print_exc()
    sys.exit(1)


if __name__ == '__main__':
  run()
