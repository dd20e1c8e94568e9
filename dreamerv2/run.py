"""The one training loop: prefill, warm-up, collect and train, evaluate, checkpoint.

It takes a factory for the agent, so DreamerV2 and APV share every line of it, and a
factory for the environments (by default worker processes), so tests can drive it
in-process.
"""
import pathlib
import time

import numpy as np

from . import banner
from . import config as config_lib
from . import driver as driver_lib
from . import envs
from . import identity
from . import interrupt
from . import jsonl
from . import lock as lock_lib
from . import logger as logger_lib
from . import progress as progress_lib
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


def make_env(config, mode):
  """The default env factory: a BatchEnv of `config.envs` ('train') or `config.eval_envs`
  ('eval') worker processes, with disjoint seeds.

  An env factory returns an object with `act_dim`, `len()`, `restart()`, `step(actions)`
  -> list of observation dicts (see `parallel.BatchEnv`) and `close()`.
  """
  suite, kwargs = envs.env_kwargs(config)
  count, offset = (config.envs, 0) if mode == 'train' else (config.eval_envs, 500)
  seeds = [config.seed * 1000 + offset + i for i in range(count)]
  return parallel.BatchEnv(suite, kwargs, seeds, f'{mode}_env')


def train(config, make_agent, log=print, make_env=make_env):
  """Runs (or resumes) a training run in `config.logdir`."""
  # Imported here: the checkpoint module loads TensorFlow, and the loop itself
  # (`Loop`) is tested without it.
  from . import checkpoint as ckpt_lib
  logdir = config_lib.prepare_logdir(config.logdir)
  # Before anything is written: a logdir holding another run is refused untouched.
  identity.check(logdir, config)
  logger_lib.check_wandb(config)
  with lock_lib.LogdirLock(logdir, log):
    return _train(config, make_agent, logdir, log, make_env, ckpt_lib)


def _train(config, make_agent, logdir, log, make_env, ckpt_lib):
  seed_everything(config.seed)
  envs.parse_task(config.task)  # A bad task name fails before anything is written.
  repeat = config.env.action_repeat
  identity.write(logdir, config)
  config.save(str(logdir / 'config.yaml'))

  for name in ('scores.jsonl', 'metrics.jsonl'):
    jsonl.repair(logdir / name, log)
  replay = replay_lib.Replay(logdir / 'train_episodes', config.replay.capacity, config.dataset.length,
                             config.replay.prioritize_ends, seed=config.seed,
                             image_shape=tuple(config.env.size) + (3,), log=log)
  frames = lambda: replay.total_steps * repeat
  log(f'Logdir {logdir}; {replay.total_episodes} episodes ({frames()} env frames) already in replay.')
  image = tuple(config.env.size) + (3,)
  full = replay_lib.Replay.projected_bytes(config.replay.capacity, image, 4)
  run_steps = min(config.replay.capacity, config.steps // repeat)
  need = replay_lib.Replay.projected_bytes(run_steps, image, 4)
  log(f'Replay RAM: {need / 2 ** 30:.2f} GiB for this run\'s {run_steps} steps '
      f'({full / 2 ** 30:.2f} GiB if its capacity of {config.replay.capacity} steps fills).')

  train_env = make_env(config, 'train')
  try:
    eval_env = make_env(config, 'eval')
  except Exception:
    train_env.close()
    raise
  try:
    agent = make_agent(config, train_env.act_dim, log)
    # With the progress bar, the terminal shows one line of watched values, not every metric.
    logger = logger_lib.make_logger(logdir, frames, terminal_pattern='^$' if config.progress else '.*', config=config)
    ckpt = ckpt_lib.Checkpoint(logdir / 'checkpoint', log=log, agent=agent)
    ckpt.clean()
    state = ckpt.load()
    if state:
      resume = f"Resumed from checkpoint at {state['frames']} frames, {state['updates']} updates"
    else:
      state = {'updates': 0, 'next_eval': int(config.prefill), 'frames': 0}
      resume = 'New run' + (f' ({replay.total_episodes} episodes already in replay)' if replay.total_episodes else '')
    banner.show(config, logdir, resume, 'Training', log=log)
    loop = Loop(config, logdir, agent, replay, train_env, eval_env, logger, ckpt, state, log)
    with interrupt.deferred():
      try:
        loop.run()
        interrupt.done()  # Saved and finished: a signal during teardown just exits.
      except interrupt.Interrupted as e:
        # Reached only at a safe point (between env steps or updates): the state is consistent.
        loop.save()
        logger.close()
        e.detail = (f'checkpoint saved at {frames()} env frames, {loop.state["updates"]} updates in {logdir}; '
                    're-run the same command to resume.')
        raise
  finally:
    train_env.close()
    eval_env.close()
  return logdir


class Loop:
  """Prefill, warm-up, then collect and train until `config.steps` env frames.

  `ckpt` needs only `save(updates, extra_state)`, `logger` `add(metrics, prefix)`,
  `write()` and `close()`, and `agent` `policy(obs, state, mode)`, `train(batch)`,
  `on_update(updates)` and `report(batch)`: the loop runs without TensorFlow.
  """

  def __init__(self, config, logdir, agent, replay, train_env, eval_env, logger, ckpt, state, log=print):
    self.config, self.logdir, self.agent, self.replay = config, logdir, agent, replay
    self.logger, self.ckpt, self.state, self.log = logger, ckpt, state, log
    self.repeat = config.env.action_repeat
    self.frames = lambda: replay.total_steps * self.repeat
    self.act_dim = train_env.act_dim
    self.rng = np.random.default_rng(config.seed + 1_000_003 * (state['updates'] + 1))
    self.train_driver = driver_lib.Driver(train_env)
    self.eval_driver = driver_lib.Driver(eval_env)
    self.train_driver.on_episode(self._on_train_episode)
    self.eval_episodes = []
    self.eval_driver.on_episode(lambda episode, worker: self.eval_episodes.append(episode))
    self.metrics = logger_lib.Mean()
    self.scores_path = logdir / 'scores.jsonl'
    self.recorded = set()
    if self.scores_path.exists():
      self.recorded = {r['step'] for r in jsonl.read(self.scores_path, required=('step',), warn=log)[0]}
    # A kill after an evaluation was recorded but before the checkpoint that follows it
    # leaves next_eval behind: that evaluation is done, so the schedule moves past it.
    while self.recorded and max(self.recorded) >= state['next_eval']:
      state['next_eval'] += config.eval_every
    self.last_eval = None
    self.progress = None

  def _on_train_episode(self, episode, worker):
    self.replay.add(episode)
    stats = summarize_episodes([episode])
    self.metrics.add({f'episode/{k}': v for k, v in stats.items()})

  def run(self):
    config = self.config
    if config.progress:
      self.progress = progress_lib.Progress(config.steps, self.frames(), self.log)
      self.log = self.progress.write
    try:
      self._run()
    finally:
      if self.progress:
        self.progress.close()

  def _advance(self, phase=None):
    if self.progress:
      if phase:
        self.progress.phase(phase)
      self.progress.update(self.frames())

  def _run(self):
    config, log = self.config, self.log
    prefill = max(0, int(config.prefill) - self.frames())
    if prefill:
      log(f'Prefilling {prefill} env frames with a uniform random policy.')
      policy = driver_lib.random_policy(self.act_dim, self.rng)
      self._advance('prefill')
      while self.frames() < config.prefill:
        self.train_driver(policy, steps=1)
        self._advance()
    self.dataset = iter(self.replay.dataset(config.dataset.batch))
    if self.state['updates'] == 0:
      log(f'Warm-up: {config.pretrain} updates on the prefill data.')
      for i in range(config.pretrain):
        self._advance(f'warm-up {i + 1}/{config.pretrain}')
        interrupt.check()
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
      self._advance('training')
      self.train_driver(policy, steps=every)
      self._advance()
      for _ in range(config.train_steps):
        interrupt.check()
        self._update()
      if self.frames() - last_log >= config.log_every:
        timer = self.write_logs(timer)
        last_log = self.frames()
      if self.frames() - last_save >= config.save_every:
        self.save()
        last_save = self.frames()
    # The final policy is evaluated too (unless an evaluation just ran at this step).
    if self.frames() >= config.steps and self.last_eval != self.frames() and not self._recorded(self.frames()):
      self.evaluate()
    self.write_logs(timer)
    self.save()
    self.logger.close()
    log(f'Done: {self.frames()} env frames, {self.state["updates"]} updates. Logs in {self.logdir}')

  def _update(self):
    metrics = self.agent.train(next(self.dataset))
    self.metrics.add(metrics)
    self.state['updates'] += 1
    self.agent.on_update(self.state['updates'])

  def _recorded(self, step):
    """Whether scores.jsonl already holds an evaluation at `step` (a finished run re-run)."""
    return step in self.recorded

  def write_logs(self, timer):
    start, frames0, updates0 = timer
    now = time.time()
    if self.frames() == frames0 and self.state['updates'] == updates0:
      return timer  # Nothing happened since the last write: no all-zero perf record.
    result = self.metrics.result()
    self.logger.add({k: v for k, v in result.items() if k.startswith('episode/')}, prefix='train')
    self.logger.add({k: v for k, v in result.items() if not k.startswith('episode/')}, prefix='train')
    perf = {
        'fps': (self.frames() - frames0) / max(now - start, 1e-9),
        'updates_per_sec': (self.state['updates'] - updates0) / max(now - start, 1e-9),
        'updates': self.state['updates'], 'replay_steps': len(self.replay),
    }
    self.logger.add(perf, prefix='perf')
    self.logger.write()
    if self.progress:
      self.progress.watch({f'train/{k}': v for k, v in result.items()} | {'perf/fps': perf['fps']})
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
    self.last_eval = frames
    if self.progress:
      self.progress.watch({f'eval/{k}': v for k, v in stats.items()})
    self.logger.add(stats, prefix='eval')
    record = {'step': frames, **stats, 'episodes': len(episodes), 'method': config.method,
              'task': config.task, 'seed': config.seed, 'preset': config.preset, 'precision': str(config.precision)}
    if frames not in self.recorded:  # One record per step, also across kills and resumes.
      jsonl.append(self.scores_path, record)
      self.recorded.add(frames)
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
