"""The training loop's schedule, driven in-process with a fake agent, env and checkpoint.

No TensorFlow and no worker processes: `run.Loop` needs only the small interfaces its
docstring names. Numbers are chosen so every event lands on an exact frame count:
action repeat 2 and 25-step episodes make 50 frames per episode, one train-driver call
is train_every / repeat = 5 agent steps, so an episode finishes every 5 calls.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from dreamerv2 import config as config_lib
from dreamerv2 import logger as logger_lib
from dreamerv2 import replay as replay_lib
from dreamerv2 import run
from dreamerv2.envs.dummy import Dummy

REPEAT, LENGTH = 2, 25
FLAGS = ['--configs', 'debug', '--task', 'dummy_image', '--env.action_repeat', str(REPEAT),
         '--env.length', str(LENGTH), '--env.size', '64', '64', '--prefill', '100', '--pretrain', '3',
         '--train_every', '10', '--train_steps', '2', '--eval_every', '200', '--eval_eps', '2',
         '--save_every', '150', '--log_every', '100', '--steps', '600',
         '--dataset.batch', '2', '--dataset.length', '8', '--envs', '1', '--eval_envs', '1']


class FakeEnv:
  """BatchEnv's interface over in-process Dummy envs; counts transitions per caller."""

  def __init__(self, config, mode):
    count = config.envs if mode == 'train' else config.eval_envs
    offset = 0 if mode == 'train' else 500
    self.envs = [Dummy('image', seed=offset + i, size=tuple(config.env.size),
                       action_repeat=config.env.action_repeat, length=config.env.length)
                 for i in range(count)]
    self.act_dim = self.envs[0].act_dim
    self.transitions = 0
    self.closed = False
    self._done = [True] * count

  def __len__(self):
    return len(self.envs)

  def restart(self):
    self._done = [True] * len(self.envs)

  def step(self, actions):
    obs = []
    for i, env in enumerate(self.envs):
      if self._done[i]:
        obs.append(env.reset())
      else:
        obs.append(env.step(actions[i]))
        self.transitions += 1
    self._done = [bool(o['is_last']) for o in obs]
    return obs

  def close(self):
    self.closed = True


class FakeAgent:
  """Records every call with the env counters at that moment."""

  def __init__(self, act_dim, train_env, replay):
    self.act_dim, self.train_env, self.replay = act_dim, train_env, replay
    self.policy_calls = {'train': 0, 'eval': 0}
    self.updates = []  # (frames, train-env transitions, train-policy calls) per train() call
    self.on_update_calls = []
    self.reports = 0

  def policy(self, obs, state, mode):
    self.policy_calls[mode] += 1
    return np.zeros((len(obs['is_first']), self.act_dim), np.float32), state

  def train(self, batch):
    assert batch['image'].shape == (2, 8, 64, 64, 3)
    self.updates.append((self.replay.total_steps * REPEAT, self.train_env.transitions,
                         self.policy_calls['train']))
    return {'wm/loss': 1.0}

  def on_update(self, updates):
    self.on_update_calls.append(updates)

  def report(self, batch):
    self.reports += 1
    return np.zeros((8, 64, 192, 3), np.float32)


class FakeCheckpoint:

  def __init__(self):
    self.saves = []

  def save(self, number, extra):
    self.saves.append((number, dict(extra)))


class NumpyReplay(replay_lib.Replay):
  """The loop only iterates over `dataset(batch)`: numpy batches instead of tf.data."""

  def dataset(self, batch, prefetch=None):
    while True:
      windows = [self.sample_window() for _ in range(batch)]
      yield {k: np.stack([w[k] for w in windows]) for k in windows[0]}


def make_loop(config, logdir, state):
  replay = NumpyReplay(logdir / 'train_episodes', config.replay.capacity, config.dataset.length, seed=0)
  train_env, eval_env = FakeEnv(config, 'train'), FakeEnv(config, 'eval')
  agent = FakeAgent(train_env.act_dim, train_env, replay)
  frames = lambda: replay.total_steps * REPEAT
  logger = logger_lib.make_logger(logdir, frames, tensorboard=False, terminal_pattern='^$')
  ckpt = FakeCheckpoint()
  loop = run.Loop(config, logdir, agent, replay, train_env, eval_env, logger, ckpt, state, log=lambda *a: None)
  return loop, agent, ckpt, train_env, eval_env


def fresh_state(config):
  return {'updates': 0, 'next_eval': int(config.prefill), 'frames': 0}


@pytest.fixture
def first_run(tmp_path):
  config = config_lib.parse(FLAGS + ['--logdir', str(tmp_path)])
  loop, agent, ckpt, train_env, eval_env = make_loop(config, tmp_path, fresh_state(config))
  loop.run()
  return config, tmp_path, agent, ckpt, train_env, eval_env


def test_prefill_then_warmup(first_run):
  config, _, agent, _, _, _ = first_run
  episode_frames = LENGTH * REPEAT
  prefill_frames = -(-config.prefill // episode_frames) * episode_frames
  # The first `pretrain` updates run on the prefill data alone: random actions only,
  # whole episodes up to the first multiple of the episode length >= prefill.
  warmup = agent.updates[:config.pretrain]
  assert warmup == [(prefill_frames, prefill_frames // REPEAT, 0)] * config.pretrain
  # The next update follows the first collect step with the agent's policy.
  frames, transitions, policy_calls = agent.updates[config.pretrain]
  assert policy_calls > 0 and transitions == prefill_frames // REPEAT + config.train_every // REPEAT
  assert agent.on_update_calls == list(range(1, len(agent.updates) + 1))


def test_train_ratio(first_run):
  config, _, agent, _, train_env, _ = first_run
  prefill_transitions = config.prefill // REPEAT
  every = config.train_every // REPEAT
  after_warmup = agent.updates[config.pretrain:]
  # Every collect call of `every` agent steps is followed by `train_steps` updates.
  for i, (_, transitions, _) in enumerate(after_warmup):
    call = i // config.train_steps + 1
    assert transitions == prefill_transitions + call * every
  collected = train_env.transitions - prefill_transitions
  assert len(after_warmup) * every == collected * config.train_steps
  assert collected * REPEAT == config.steps - config.prefill


def test_eval_schedule(first_run):
  config, logdir, agent, _, _, eval_env = first_run
  scores = [json.loads(line) for line in (logdir / 'scores.jsonl').read_text().splitlines()]
  # Evaluations start after prefill and come every eval_every frames while frames < steps;
  # the final policy is evaluated at the end.
  expected = list(range(config.prefill, config.steps, config.eval_every)) + [config.steps]
  assert [s['step'] for s in scores] == expected
  assert all(s['episodes'] == config.eval_eps and s['task'] == 'dummy_image' for s in scores)
  assert len(list((logdir / 'eval_episodes').glob('*.npz'))) == config.eval_eps * len(expected)
  assert eval_env.transitions == config.eval_eps * LENGTH * len(expected)
  # The agent's greedy policy drove the eval env; each eval wrote one open-loop video.
  assert agent.policy_calls['eval'] >= eval_env.transitions
  assert agent.reports == len(expected)
  assert len(list((logdir / 'videos').glob('openloop-*.mp4'))) == len(expected)


def test_save_cadence(first_run):
  config, _, _, ckpt, _, _ = first_run
  frames = [extra['frames'] for _, extra in ckpt.saves]
  evals = list(range(config.prefill, config.steps, config.eval_every))
  cadence = list(range(config.prefill + config.save_every, config.steps, config.save_every))
  # A save after every evaluation, every save_every frames since the loop started, and at the end.
  assert frames == sorted(evals + cadence) + [config.steps]
  for number, extra in ckpt.saves:
    # The checkpoint number is the update count, which follows the train ratio.
    assert number == extra['updates'] == config.pretrain + config.train_steps * (
        extra['frames'] - config.prefill) // config.train_every
  assert ckpt.saves[-1][1]['next_eval'] == evals[-1] + config.eval_every


def test_resume_skips_prefill_and_warmup(first_run):
  config, logdir, _, ckpt, _, _ = first_run
  state = ckpt.saves[-1][1]
  more = config_lib.parse(FLAGS + ['--logdir', str(logdir), '--steps', '800'])
  loop, agent, ckpt2, train_env, _ = make_loop(more, logdir, dict(state))
  loop.run()
  assert agent.updates[0][2] > 0, 'an update ran before the first collect step'
  assert agent.on_update_calls[0] == state['updates'] + 1
  assert train_env.transitions * REPEAT == 800 - config.steps
  assert ckpt2.saves[-1][0] == state['updates'] + config.train_steps * 200 // config.train_every
  scores = [json.loads(line) for line in (logdir / 'scores.jsonl').read_text().splitlines()]
  assert [s['step'] for s in scores][-2:] == [state['next_eval'], 800] and state['next_eval'] == 700


def test_final_eval_once_and_no_empty_perf_record(first_run):
  config, logdir, _, ckpt, _, _ = first_run
  rows = [json.loads(line) for line in (logdir / 'metrics.jsonl').read_text().splitlines()]
  perf = [r for r in rows if 'perf/fps' in r]
  assert perf and all(r['perf/fps'] > 0 for r in perf)
  # Re-running a finished run evaluates nothing again and writes no perf record.
  loop, agent, _, _, eval_env = make_loop(config, logdir, dict(ckpt.saves[-1][1]))
  loop.run()
  assert eval_env.transitions == 0 and agent.updates == []
  assert [json.loads(line) for line in (logdir / 'metrics.jsonl').read_text().splitlines()] == rows


def test_watch_line_shows_the_values_people_watch():
  from dreamerv2 import progress
  line = progress.watch_line({'eval/return': 12.34, 'train/episode/return': 3.0, 'eval/success': 0.4,
                              'train/wm/image_loss': 1234.5, 'train/wm/reward_loss': 0.1234, 'train/wm/kl_loss': 1.5,
                              'train/wm/intr_mean': 0.05, 'perf/fps': 41.6, 'train/ac/actor_loss': 9.0})
  assert line == 'return 12.3 | success 0.40 | image 1234.5 | reward 0.123 | kl 1.50 | bonus 0.050 | fps 42'
  assert progress.watch_line({'train/episode/return': 3.0}) == 'return 3.0'


def test_loop_module_loads_no_tensorflow():
  code = 'import sys; from dreamerv2 import run; assert "tensorflow" not in sys.modules'
  env = {**os.environ, 'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
  proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, env=env)
  assert proc.returncode == 0, proc.stderr[-2000:]


def test_default_env_factory_is_worker_processes(tmp_path):
  config = config_lib.parse(FLAGS + ['--logdir', str(tmp_path), '--envs', '2'])
  assert run.train.__defaults__[-1] is run.make_env
  train_env = run.make_env(config, 'train')
  try:
    assert len(train_env) == 2 and train_env.act_dim == 2
    assert all(w._proc.pid != os.getpid() for w in train_env.workers)
    obs = train_env.step(np.zeros((2, 2), np.float32))
    assert [o['image'].shape for o in obs] == [(64, 64, 3)] * 2 and all(o['is_first'] for o in obs)
    # Train and eval envs get disjoint seeds, so their first observations differ.
    eval_env = run.make_env(config, 'eval')
    try:
      assert len(eval_env) == 1
      assert not np.array_equal(eval_env.step(np.zeros((1, 2), np.float32))[0]['image'], obs[0]['image'])
    finally:
      eval_env.close()
  finally:
    train_env.close()
