"""Locomotion videos of DeepMind Control domains: the embedded default set for DMC pre-training.

The paper's locomotion videos came from a custom DMC domain that was never released. We
record domains other than the fine-tuning targets (quadruped, hopper), by default walker
and cheetah. DMC has no scripted experts: each actuator follows a sinusoid with a random
period, phase and amplitude per episode, which makes gait-like motion and moves the body
far more than uniform noise. Environments run in worker processes (MuJoCo's renderer and
TensorFlow crash in one process), through the same env class fine-tuning uses, so camera,
size, action repeat and render settings match by construction.
"""
import json
import os
import pathlib

import numpy as np

from apv_ext import video_cache
from dreamerv2.errors import UserError

FINETUNE_DOMAINS = ('quadruped', 'hopper')


def sinusoid_policy(rng, act_dim, periods):
  """Per-actuator `a_j(t) = amp_j * sin(2 pi t / period_j + phase_j)`, parameters drawn once."""
  period = rng.uniform(periods[0], periods[1], act_dim)
  phase = rng.uniform(0, 2 * np.pi, act_dim)
  amp = rng.uniform(0.5, 1.0, act_dim)
  return lambda t: (amp * np.sin(2 * np.pi * t / period + phase)).astype(np.float32)


def collect(out, tasks, episodes, length, size=(64, 64), action_repeat=2, fast_render=False, periods=(10, 40),
            seed=0, workers=2, progress=True, camera=''):
  """Writes `<out>/<task>-<i>.npz` (image, action) per episode, atomically; existing files are kept."""
  from tqdm import tqdm
  from dreamerv2.envs import parallel
  from dreamerv2.replay import save_npz
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  meta = {'size': list(size), 'action_repeat': action_repeat, 'fast_render': fast_render, 'length': length,
          'periods': list(periods), 'policy': 'sinusoid', 'camera': camera}
  (out / 'render.json').write_text(json.dumps(meta))
  todo = [(t, i) for t in tasks for i in range(episodes) if not (out / f'{t}-{i}.npz').exists()]
  bar = tqdm(total=len(todo) * length, unit='frame', desc='collecting DMC videos', disable=not progress)
  for n, task in enumerate(tasks):
    runs = [i for t, i in todo if t == task]
    if not runs:
      continue
    kwargs = dict(name=task, size=tuple(size), action_repeat=action_repeat, fast_render=fast_render, length=length)
    if camera:  # Otherwise the paper's camera, as in fine-tuning.
      kwargs['camera'] = camera
    env = parallel.BatchEnv('dmc', kwargs, [seed + 1000 * n + j for j in range(min(workers, len(runs)))],
                            label='collect')
    try:
      for begin in range(0, len(runs), len(env)):
        chunk = runs[begin: begin + len(env)]
        # One policy per episode, from (seed, task, episode): reproducible whichever worker runs it.
        policies = [sinusoid_policy(np.random.default_rng([seed, n, i]), env.act_dim, periods) for i in chunk]
        obs = env.step(np.zeros((len(env), env.act_dim)))  # Every env starts a new episode here.
        frames = [[o['image']] for o in obs[:len(chunk)]]
        actions = [[np.zeros(env.act_dim, np.float32)] for _ in chunk]
        t = 0
        while not all(o['is_last'] for o in obs[:len(chunk)]):
          act = np.zeros((len(env), env.act_dim), np.float32)
          act[:len(chunk)] = [policy(t) for policy in policies]
          obs = env.step(act)
          t += 1
          for j in range(len(chunk)):
            frames[j].append(obs[j]['image'])
            actions[j].append(act[j])
          bar.update(len(chunk))
        for j, i in enumerate(chunk):
          save_npz(out / f'{task}-{i}.npz', image=np.stack(frames[j]), action=np.stack(actions[j]))
    finally:
      env.close()
  bar.close()
  return out


def default_dataset(config, log=print):
  """The DMC default set under the cache root, collected once; returns its folder."""
  video = config.video
  for task in video.dmc_tasks:
    if task.partition('_')[0] in FINETUNE_DOMAINS:
      raise UserError(f'video.dmc_tasks: {task} is a fine-tuning domain ({", ".join(FINETUNE_DOMAINS)}); '
                      'pre-training videos must come from other domains.')
  if video.dmc_episodes <= 0 or video.dmc_length <= 0:
    raise UserError(f'video.dmc_episodes and video.dmc_length must be positive (got {video.dmc_episodes}, '
                    f'{video.dmc_length}).')
  root = video_cache.default_root(video.cache)
  render = 'fast' if config.env.fast_render else 'full'
  size, repeat = config.env.size[0], config.env.action_repeat
  camera = f'-{config.env.camera}' if config.env.camera else ''
  name = f'dmc-{"+".join(video.dmc_tasks)}-{video.dmc_episodes}x{video.dmc_length}-{size}-ar{repeat}-{render}{camera}'
  out = root / name
  if (out / 'complete').exists():
    return out
  log(f'Collecting the default DMC pre-training videos into {out} ({", ".join(video.dmc_tasks)} x '
      f'{video.dmc_episodes} episodes of {video.dmc_length} steps, sinusoid actions, {render} rendering); '
      'this happens once.')
  collect(out, list(video.dmc_tasks), video.dmc_episodes, video.dmc_length, tuple(config.env.size), repeat,
          config.env.fast_render, tuple(video.dmc_periods), config.seed, video.workers or os.cpu_count() or 1,
          camera=config.env.camera)
  (out / 'complete').write_text('')
  return out
