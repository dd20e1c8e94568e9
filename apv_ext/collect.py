"""Expert videos of Meta-world tasks, rendered exactly like the fine-tuning env.

TensorFlow-free: runs in its own process (MuJoCo rendering and TF crash together).
The frames come from `dreamerv2.envs.metaworld.MetaWorld`, the class fine-tuning
uses, so camera, orientation, size and render settings match by construction.
"""
import json
import pathlib

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
