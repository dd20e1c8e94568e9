"""The one training loop: prefill, warm-up, collect and train, evaluate, checkpoint.

It takes a factory for the agent, so DreamerV2 and APV share every line of it.
"""
import pathlib
import time

import numpy as np

from . import checkpoint as ckpt_lib
from . import config as config_lib
from . import driver as driver_lib
from . import envs
from . import logger as logger_lib
from . import replay as replay_lib
from .envs import parallel


def seed_everything(seed):
  import tensorflow as tf
  tf.random.set_seed(seed)
  np.random.seed(seed)


def summarize_episodes(episodes):
  """Return, length and success-at-any-step averaged over episodes."""
  result = {
      'return': float(np.mean([ep['reward'][1:].sum() for ep in episodes])),
      'length': float(np.mean([len(ep['reward']) - 1 for ep in episodes])),
  }
  if 'log_success' in episodes[0]:
    result['success'] = float(np.mean([ep['log_success'].max() > 0 for ep in episodes]))
  return result


def train(config, make_agent, log=print):
  """Runs (or resumes) a training run in `config.logdir`."""
  logdir = config_lib.prepare_logdir(config.logdir)
  seed_everything(config.seed)
  suite, env_kwargs = envs.env_kwargs(config)
  repeat = config.env.action_repeat
  config.save(str(logdir / 'config.yaml'))

  replay = replay_lib.Replay(logdir / 'train_episodes', config.replay.capacity, config.dataset.length,
                             config.replay.prioritize_ends, seed=config.seed)
  frames = lambda: replay.total_steps * repeat
  log(f'Logdir {logdir}; {replay.total_episodes} episodes ({frames()} env frames) already in replay.')
  image = tuple(config.env.size) + (3,)
  full = replay_lib.Replay.projected_bytes(config.replay.capacity, image, 4)
  run_steps = min(config.replay.capacity, config.steps // repeat)
  need = replay_lib.Replay.projected_bytes(run_steps, image, 4)
  log(f'Replay RAM: {need / 2 ** 30:.2f} GiB for this run\'s {run_steps} steps '
      f'({full / 2 ** 30:.2f} GiB if its capacity of {config.replay.capacity} steps fills).')

  train_env = parallel.BatchEnv(suite, env_kwargs, [config.seed * 1000 + i for i in range(config.envs)], 'train_env')
  eval_env = parallel.BatchEnv(
      suite, env_kwargs, [config.seed * 1000 + 500 + i for i in range(config.eval_envs)], 'eval_env')
  try:
    agent = make_agent(config, train_env.act_dim, log)
    logger = logger_lib.make_logger(logdir, frames)
    ckpt = ckpt_lib.Checkpoint(logdir / 'checkpoint', agent=agent)
    state = ckpt.load()
    if state:
      log(f"Resumed from checkpoint at {state['frames']} frames, {state['updates']} updates.")
    else:
      state = {'updates': 0, 'next_eval': int(config.prefill), 'frames': 0}
    loop = _Loop(config, logdir, agent, replay, train_env, eval_env, logger, ckpt, state, frames, log)
    loop.run()
  finally:
    train_env.close()
    eval_env.close()
  return logdir


class _Loop:

  def __init__(self, config, logdir, agent, replay, train_env, eval_env, logger, ckpt, state, frames, log):
    self.config, self.logdir, self.agent, self.replay = config, logdir, agent, replay
    self.logger, self.ckpt, self.state, self.frames, self.log = logger, ckpt, state, frames, log
    self.repeat = config.env.action_repeat
    self.act_dim = train_env.act_dim
    self.rng = np.random.default_rng(config.seed + 1_000_003 * (state['updates'] + 1))
    self.train_driver = driver_lib.Driver(train_env)
    self.eval_driver = driver_lib.Driver(eval_env)
    self.train_driver.on_episode(self._on_train_episode)
    self.eval_episodes = []
    self.eval_driver.on_episode(lambda episode, worker: self.eval_episodes.append(episode))
    self.metrics = logger_lib.Mean()
    self.scores_path = logdir / 'scores.jsonl'

  def _on_train_episode(self, episode, worker):
    self.replay.add(episode)
    stats = summarize_episodes([episode])
    self.metrics.add({f'episode/{k}': v for k, v in stats.items()})

  def run(self):
    config, log = self.config, self.log
    prefill = max(0, int(config.prefill) - self.frames())
    if prefill:
      log(f'Prefilling {prefill} env frames with a uniform random policy.')
      policy = driver_lib.random_policy(self.act_dim, self.rng)
      while self.frames() < config.prefill:
        self.train_driver(policy, steps=1)
    self.dataset = iter(self.replay.dataset(config.dataset.batch))
    if self.state['updates'] == 0:
      log(f'Warm-up: {config.pretrain} updates on the prefill data.')
      for _ in range(config.pretrain):
        self._update()
    policy = lambda obs, state: self.agent.policy(obs, state, 'train')
    every = max(1, config.train_every // self.repeat)
    last_log, last_save = self.frames(), self.frames()
    timer = (time.time(), self.frames(), self.state['updates'])
    while self.frames() < config.steps:
      if self.frames() >= self.state['next_eval']:
        self.evaluate()
        self.state['next_eval'] += config.eval_every
        self.save()
      self.train_driver(policy, steps=every)
      for _ in range(config.train_steps):
        self._update()
      if self.frames() - last_log >= config.log_every:
        timer = self.write_logs(timer)
        last_log = self.frames()
      if self.frames() - last_save >= config.save_every:
        self.save()
        last_save = self.frames()
    self.write_logs(timer)
    self.save()
    self.logger.close()
    log(f'Done: {self.frames()} env frames, {self.state["updates"]} updates. Logs in {self.logdir}')

  def _update(self):
    metrics = self.agent.train(next(self.dataset))
    self.metrics.add(metrics)
    self.state['updates'] += 1
    self.agent.on_update(self.state['updates'])

  def write_logs(self, timer):
    start, frames0, updates0 = timer
    now = time.time()
    result = self.metrics.result()
    self.logger.add({k: v for k, v in result.items() if k.startswith('episode/')}, prefix='train')
    self.logger.add({k: v for k, v in result.items() if not k.startswith('episode/')}, prefix='train')
    self.logger.add({
        'fps': (self.frames() - frames0) / max(now - start, 1e-9),
        'updates_per_sec': (self.state['updates'] - updates0) / max(now - start, 1e-9),
        'updates': self.state['updates'], 'replay_steps': len(self.replay),
    }, prefix='perf')
    self.logger.write()
    return (now, self.frames(), self.state['updates'])

  def evaluate(self):
    config = self.config
    self.eval_episodes.clear()
    self.eval_driver.reset()
    policy = lambda obs, state: self.agent.policy(obs, state, 'eval')
    self.eval_driver(policy, episodes=config.eval_eps)
    # With several eval envs the last step can finish more episodes than asked for.
    episodes = self.eval_episodes[:config.eval_eps]
    eval_dir = self.logdir / 'eval_episodes'
    eval_dir.mkdir(exist_ok=True)
    for ep in episodes:
      replay_lib.save_episode(eval_dir, ep)
    stats = summarize_episodes(episodes)
    frames = self.frames()
    self.logger.add(stats, prefix='eval')
    record = {'step': frames, **stats, 'episodes': len(episodes), 'method': config.method,
              'task': config.task, 'seed': config.seed, 'precision': str(config.precision)}
    logger_lib.append_jsonl(self.scores_path, record)
    if config.log_videos:
      video = episodes[0]['image']
      self.logger.add({'policy': video}, prefix='eval')
      logger_lib.write_video(self.logdir / 'videos' / f'eval-{frames:09d}.mp4', video)
      openloop = self.agent.report(next(self.dataset))
      self.logger.add({'openloop': openloop}, prefix='report')
      logger_lib.write_video(self.logdir / 'videos' / f'openloop-{frames:09d}.mp4', openloop)
    self.logger.write()
    self.log(f"Eval at {frames} frames: " + ', '.join(f'{k} {v:.3f}' for k, v in stats.items()))

  def save(self):
    self.state['frames'] = self.frames()
    self.ckpt.save(self.state['updates'], dict(self.state))
