"""Expert videos of Meta-world tasks, rendered exactly like the fine-tuning env.

  python -m apv_ext.collect --out ~/data/mw_videos --episodes 10
Default tasks: every Meta-world task except the paper's six fine-tuning tasks.
Frames match the fine-tuning env (corner camera, upright, 64x64); keep --fast_render
the same as the fine-tuning config's env.fast_render.

TensorFlow-free: runs in its own process (MuJoCo rendering and TF crash together).
The frames come from `dreamerv2.envs.metaworld.MetaWorld`, the class fine-tuning
uses, so camera, orientation, size and render settings match by construction.
"""
import argparse
import json
import os
import pathlib
import sys
import traceback

import numpy as np

# The six fine-tuning tasks of the paper: the default pre-training set excludes them.
FINETUNE_TASKS = ('lever_pull', 'drawer_open', 'door_lock', 'button_press_topdown_wall', 'reach', 'dial_turn')
# A visually varied subset of the remaining tasks for the small embedded default set.
DEFAULT_TASKS = ('button_press', 'door_open', 'drawer_close', 'window_open', 'faucet_open', 'handle_press',
                 'plate_slide', 'coffee_button', 'window_close', 'push')


def unseen_tasks():
  """Every Meta-world v3 task except the paper's six fine-tuning tasks."""
  import metaworld
  names = sorted(t[:-3].replace('-', '_') for t in metaworld.ALL_V3_ENVIRONMENTS)
  return [n for n in names if n not in FINETUNE_TASKS]


def collect(out, tasks, episodes, length=500, size=(64, 64), camera='corner', fast_render=False,
            noise=0.0, seed=0, progress=True):
  """Writes `<out>/<task>-<i>.npz` (image, action, reward, success) per episode, atomically.

  Existing files are kept, so an interrupted collection resumes.
  """
  from metaworld.policies import ENV_POLICY_MAP
  from dreamerv2.envs.metaworld import MetaWorld
  from dreamerv2.replay import save_npz
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  meta = {'size': list(size), 'camera': camera, 'fast_render': fast_render, 'length': length, 'noise': noise}
  (out / 'render.json').write_text(json.dumps(meta))
  todo = [(t, i) for t in tasks for i in range(episodes) if not (out / f'{t}-{i}.npz').exists()]
  bar = None
  if progress:
    from tqdm import tqdm
    bar = tqdm(total=len(todo) * length, unit='frame', desc='collecting expert videos')
  rng = np.random.default_rng(seed)
  successes = []
  for task in tasks:
    runs = [i for t, i in todo if t == task]
    if not runs:
      continue
    env = MetaWorld(task, seed=seed + 1000 * (1 + tasks.index(task)), size=size, camera=camera,
                    fast_render=fast_render, length=length)
    policy = ENV_POLICY_MAP[task.replace('_', '-') + '-v3']()
    for i in runs:
      obs = env.reset()
      frames, actions, rewards, success = [obs['image']], [np.zeros(4, np.float32)], [0.0], [0.0]
      while not obs['is_last']:
        action = np.clip(policy.get_action(obs['state']) + noise * rng.normal(size=4), -1, 1).astype(np.float32)
        obs = env.step(action)
        frames.append(obs['image'])
        actions.append(action)
        rewards.append(float(obs['reward']))
        success.append(float(obs['log_success']))
        bar and bar.update(1)
      successes.append(max(success))
      save_npz(out / f'{task}-{i}.npz', image=np.stack(frames), action=np.stack(actions),
               reward=np.array(rewards, np.float32), success=np.array(success, np.float32))
    env.close()
  bar and bar.close()
  return successes


def main(argv=None):
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
  args = parser.parse_args(argv)
  from dreamerv2.envs import gl
  gl.check_backend()  # Before metaworld imports mujoco: a missing GL library is one clear line.
  tasks = args.tasks or unseen_tasks()
  known = set(unseen_tasks()) | set(FINETUNE_TASKS)
  unknown = [t for t in tasks if t not in known]
  if unknown:
    sys.exit(f'error: unknown Meta-world tasks {unknown}; known: {sorted(known)}')
  successes = collect(args.out, tasks, args.episodes, args.length, (args.size, args.size), args.camera,
                      args.fast_render, args.noise, args.seed)
  if successes:
    print(f'Wrote {len(successes)} episodes to {args.out}; expert success rate {sum(successes) / len(successes):.2f}.')
  else:
    print(f'All episodes already in {args.out}.')


def run(argv=None):
  """main() with a failure as one line; the traceback goes to $APV_ERROR_FILE when the caller set it."""
  try:
    main(argv)
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
