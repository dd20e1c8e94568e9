"""APV: the action-free RSSM, loading pre-trained weights, schedules, ablations, resume, smoke."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from apv_ext import agent as apv_agent
from apv_ext import video_model
from apv_ext import rssm as apv_rssm
from conftest import ROOT
from dreamerv2 import checkpoint as ckpt_lib
from apv_ext import config as config_lib
from dreamerv2.errors import UserError

ACT = 4


def cfg(*args, configs=()):
  # One --configs flag: a second one would replace the first.
  return config_lib.parse(['--configs', 'metaworld', *configs, 'debug', '--log_videos', 'False', *args])


def batch(config, length=None, seed=0):
  rng = np.random.default_rng(seed)
  b, t = config.dataset.batch, length or config.dataset.length
  is_first = np.zeros((b, t), bool)
  is_first[:, 0] = True
  return {'image': tf.constant(rng.integers(0, 255, (b, t, 64, 64, 3), dtype=np.uint8)),
          'action': tf.constant(rng.uniform(-1, 1, (b, t, ACT)).astype(np.float32)),
          'reward': tf.constant(rng.normal(size=(b, t)).astype(np.float32)),
          'is_first': tf.constant(is_first), 'is_last': tf.zeros((b, t), bool), 'is_terminal': tf.zeros((b, t), bool)}


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  """A debug pre-training logdir written the way train_video.py writes it."""
  logdir = tmp_path_factory.mktemp('pretrain')
  config = cfg('--logdir', str(logdir))
  model = video_model.VideoModel(config)
  model.train({k: v for k, v in batch(config).items() if k in ('image', 'is_first')})
  ckpt_lib.Checkpoint(logdir / 'checkpoint', model=model).save(1, {'updates': 1})
  config.save(str(logdir / 'config.yaml'))
  return logdir, model


def test_action_free_rssm_has_no_action_input():
  model = apv_rssm.ActionFreeRSSM(embed_dim=7, deter=8, hidden=6, stoch=3, discrete=4)
  assert model.img_in.kernel.shape == (3 * 4, 6)
  seeds = tf.zeros((5, 2), tf.int32) + tf.range(5)[:, None]
  post, prior = model.observe(tf.random.normal((2, 5, 7)), tf.zeros((2, 5), bool), seeds)
  assert post['stoch'].shape == (2, 5, 3, 4) and prior['logit'].shape == (2, 5, 3, 4)
  rolled = model.rollout({k: v[:, -1] for k, v in post.items()}, seeds[:3])
  assert rolled['deter'].shape == (2, 3, 8)
  assert model.img_step(model.initial(2), None, seeds[0])['stoch'].shape == (2, 3, 4)


def test_loading_copies_pretrained_modules_only(pretrained):
  logdir, model = pretrained
  agent = apv_agent.APVAgent(cfg('--load_logdir', str(logdir)), ACT, log=lambda *a: None)
  modules = agent.wm.pretrained_modules()
  assert set(modules) == {'encoder', 'af_rssm', 'decoder'}
  for name, module in modules.items():
    assert_same_weights(getattr(model, name), module)
  fresh = apv_agent.APVAgent(cfg(), ACT, log=lambda *a: None)
  assert not np.allclose(fresh.wm.encoder.variables[0].numpy(), model.encoder.variables[0].numpy())
  # The action-conditional RSSM is not loaded: none of its weights that have a same-shaped
  # counterpart in the action-free RSSM (the GRU and posterior layers here) took its values.
  pairs = same_shaped(agent.wm.rssm, model.af_rssm)
  assert len(pairs) >= 3, 'debug sizes should give the two RSSMs same-shaped layers'
  assert not any(np.array_equal(a.numpy(), b.numpy()) for a, b in pairs), [a.name for a, _ in pairs]


def assert_same_weights(a, b):
  got, want = ckpt_lib.module_variables(b), ckpt_lib.module_variables(a)
  assert set(got) == set(want) and got
  for key in want:
    np.testing.assert_array_equal(got[key].numpy(), want[key].numpy(), err_msg=key)


def same_shaped(a, b):
  """(variable of a, variable of b) pairs at the same module path and of the same shape."""
  va, vb = ckpt_lib.module_variables(a), ckpt_lib.module_variables(b)
  return [(va[k], vb[k]) for k in va if k in vb and va[k].shape == vb[k].shape]


def test_encdec_only_loads_encoder_and_decoder_but_not_the_action_free_rssm(pretrained):
  logdir, model = pretrained
  agent = apv_agent.make_agent(cfg('--load_logdir', str(logdir), configs=['encdec_only']), ACT, log=lambda *a: None)
  modules = agent.wm.pretrained_modules()
  assert_same_weights(model.encoder, modules['encoder'])
  assert_same_weights(model.decoder, modules['decoder'])
  pairs = same_shaped(modules['af_rssm'], model.af_rssm)
  assert len(pairs) == len(ckpt_lib.module_variables(model.af_rssm)), 'same sizes: every variable could load'
  assert not any(np.array_equal(a.numpy(), b.numpy()) for a, b in pairs if np.any(b.numpy() != 0))


@pytest.mark.parametrize('ablation,window', [('intr_window_1', 1), ('intr_window_3', 3), ('intr_window_10', 10)])
def test_intrinsic_window_in_use(ablation, window):
  config = cfg(configs=[ablation])  # No --load_logdir: nothing to load, the window is what counts.
  agent = apv_agent.APVAgent(config, ACT, log=lambda *a: None)
  assert agent.wm.intr.window == window
  b, t = config.dataset.batch, config.dataset.length
  data = batch(config)
  _, outs, _ = agent.wm.loss(data, tf.zeros([2, t, 2], tf.int32))
  # Only steps with a full window of L frames get a bonus and a reward loss.
  _, weight, _ = agent.wm.reward_target(data, outs)
  np.testing.assert_array_equal(weight.numpy().sum(1), [t - window + 1] * b)


def test_mismatched_checkpoint_names_variables_and_shapes(pretrained):
  logdir, _ = pretrained
  with pytest.raises(UserError) as info:
    apv_agent.APVAgent(cfg('--load_logdir', str(logdir), '--apv.af_rssm.deter', '40'), ACT, log=lambda *a: None)
  message = str(info.value)
  assert 'shape mismatch af_rssm/cell/dense/kernel: checkpoint [64, 96] vs model [72, 120]' in message
  with pytest.raises(UserError, match='has no intact checkpoint'):
    apv_agent.APVAgent(cfg('--load_logdir', str(logdir / 'nope')), ACT, log=lambda *a: None)


def test_naive_ft_loads_rssm_but_not_action_rows(pretrained):
  logdir, model = pretrained
  agent = apv_agent.make_agent(cfg('--load_logdir', str(logdir), configs=['naive_ft']), ACT, log=lambda *a: None)
  assert isinstance(agent, apv_agent.NaiveAgent)
  zdim = model.af_rssm.stoch * model.af_rssm.discrete
  kernel = agent.wm.rssm.img_in.kernel.numpy()
  np.testing.assert_array_equal(kernel[:zdim], model.af_rssm.img_in.kernel.numpy())
  assert kernel.shape[0] == zdim + ACT and np.abs(kernel[zdim:]).sum() > 0
  np.testing.assert_array_equal(agent.wm.rssm.cell.dense.kernel.numpy(), model.af_rssm.cell.dense.kernel.numpy())


def test_no_pretrain_warmup_runs_adam_at_lr_zero():
  """As in the reference: during the warm-up updates the encoder + action-free group
  has lr 0, but its Adam moments, step count and weight decay keep running."""
  config = cfg('--pretrain', '2', '--model_opt.wd', '0.01')
  assert config.apv.enc_lr_type == 'no_pretrain'
  agent = apv_agent.APVAgent(config, ACT, log=lambda *a: None)
  frozen = [v for m in (agent.wm.encoder, agent.wm.af_rssm) for v in m.trainable_variables]
  other = agent.wm.rssm.trainable_variables
  snap = lambda vs: [v.numpy().copy() for v in vs]
  before, other_before = snap(frozen), snap(other)
  opt = agent.wm.optimizers['af']
  for updates in (1, 2):
    metrics = agent.train(batch(config, seed=updates))
    agent.on_update(updates)
    assert metrics['wm/af_lr'] == 0.0
    for a, b in zip(before, frozen):  # Weight decay alone: w (1 - wd)^n.
      np.testing.assert_allclose(b.numpy(), a * 0.99 ** updates, rtol=1e-6, atol=1e-12)
    assert opt.step.numpy() == updates
  assert any(np.abs(m.numpy()).sum() > 0 for m in opt.mom) and any(np.abs(v.numpy()).sum() > 0 for v in opt.sq)
  assert not all(np.array_equal(a, b.numpy()) for a, b in zip(other_before, other))
  decayed = snap(frozen)
  metrics = agent.train(batch(config, seed=3))
  assert metrics['wm/af_lr'] == config.model_opt.lr and opt.step.numpy() == 3
  assert not all(np.allclose(a * 0.99, b.numpy(), rtol=1e-6, atol=1e-12) for a, b in zip(decayed, frozen))


def test_frozen_af_leaves_the_group_out_of_training(pretrained):
  """frozen_af (no counterpart in the reference): no optimiser, no weight decay, no change."""
  logdir, _ = pretrained
  config = cfg('--load_logdir', str(logdir), '--model_opt.wd', '0.01', configs=['frozen_af'])
  agent = apv_agent.make_agent(config, ACT, log=lambda *a: None)
  frozen = [v.numpy().copy() for m in (agent.wm.encoder, agent.wm.af_rssm) for v in m.trainable_variables]
  for i in range(3):
    metrics = agent.train(batch(config, seed=i))
    agent.on_update(i + 1)
  assert 'wm/af_lr' not in metrics and 'wm/model_lr' in metrics
  after = [v.numpy() for m in (agent.wm.encoder, agent.wm.af_rssm) for v in m.trainable_variables]
  assert all(np.array_equal(a, b) for a, b in zip(frozen, after))


@pytest.mark.parametrize('ablation', ['no_intr', 'from_scratch', 'naive_ft', 'encdec_only', 'intr_window_1',
                                      'intr_window_3', 'intr_window_10', 'frozen_af'])
def test_every_ablation_trains(pretrained, ablation):
  logdir, _ = pretrained
  config = cfg('--load_logdir', str(logdir), configs=[ablation])
  agent = apv_agent.make_agent(config, ACT, log=lambda *a: None)
  loaded = np.array_equal(agent.wm.encoder.variables[0].numpy(), pretrained[1].encoder.variables[0].numpy())
  assert loaded == (ablation != 'from_scratch'), 'only from_scratch starts without pre-trained weights'
  for i in range(2):
    metrics = agent.train(batch(config, seed=i))
    agent.on_update(i + 1)
  assert all(math.isfinite(float(v)) for v in metrics.values())
  assert ('wm/intr_mean' in metrics) == config.intr.enabled


def test_resume_keeps_bonus_queue_and_ema(tmp_path):
  config = cfg()
  agent = apv_agent.APVAgent(config, ACT, log=lambda *a: None)
  for i in range(2):
    agent.train(batch(config, seed=i))
  ckpt_lib.Checkpoint(tmp_path, agent=agent).save(2)
  again = apv_agent.APVAgent(config, ACT, log=lambda *a: None)
  ckpt_lib.Checkpoint(tmp_path, agent=again).load()
  for name in ('queue', 'count', 'mag', 'proj'):
    np.testing.assert_array_equal(getattr(agent.wm.intr, name).numpy(), getattr(again.wm.intr, name).numpy())
  assert again.wm.intr.count.numpy() > 0 and again.wm.intr.mag.numpy() != 1.0


def test_collector_frames_match_finetuning_env(tmp_path):
  # Runs without TensorFlow: MuJoCo rendering cannot share a process with it.
  code = f'''
import numpy as np
from apv_ext import collect
from dreamerv2.envs.metaworld import MetaWorld
collect.collect({str(tmp_path)!r}, ['door_open'], 1, length=5, fast_render=True, seed=3, progress=False)
video = np.load({str(tmp_path / 'door_open-0.npz')!r})['image']
env = MetaWorld('door_open', seed=3 + 1000, fast_render=True, length=5)
first = env.reset()['image']
raw = env._env.render()
assert video.shape == (6, 64, 64, 3) and video.dtype == np.uint8, video.shape
assert np.array_equal(video[0], first), 'first frame differs from the fine-tuning env'
assert np.array_equal(first, raw[::-1]), 'not the upright (row-flipped) corner view'
print('OK')
'''
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=300)
  assert out.stdout.strip().endswith('OK'), out.stderr[-3000:]


def read_jsonl(path):
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_pretrain_smoke_and_resume(entry, tmp_path):
  videos = tmp_path / 'videos'
  videos.mkdir()
  rng = np.random.default_rng(0)
  for i in range(4):
    np.savez_compressed(videos / f'v{i}.npz', image=rng.integers(0, 255, (30, 64, 64, 3), dtype=np.uint8))
  logdir = tmp_path / 'pre'
  args = ['apv_ext/train_video.py', '--configs', 'metaworld_pretrain', 'debug', '--load_logdir', videos,
          '--logdir', logdir, '--eval_every', '10', '--log_every', '5', '--video.cache', tmp_path / 'cache']
  entry(*args, '--steps', '20')
  rows = read_jsonl(logdir / 'metrics.jsonl')
  assert all(math.isfinite(r['train/image_loss']) for r in rows if 'train/image_loss' in r)
  assert any('valid/image_loss' in r for r in rows)
  assert (logdir / 'checkpoint' / 'latest').exists() and list((logdir / 'videos').glob('openloop-*.mp4'))
  out = entry(*args, '--steps', '30')
  assert 'Resumed from checkpoint at 20 updates' in out.stdout
  assert max(r['step'] for r in read_jsonl(logdir / 'metrics.jsonl')) == 30


@pytest.mark.parametrize('base,task', [('metaworld', 'metaworld_reach'), ('dmc_vision', 'dmc_walker_walk')])
def test_finetune_smoke(entry, pretrained, tmp_path, base, task):
  logdir, _ = pretrained
  pre = tmp_path / 'pre'
  import shutil
  shutil.copytree(logdir, pre)
  if base == 'dmc_vision':  # DMC pre-training is its own config; re-save to match dmc_vision sizes.
    config = config_lib.parse(['--configs', 'dmc_vision_pretrain', 'debug'])
    model = video_model.VideoModel(config)
    ckpt_lib.Checkpoint(pre / 'checkpoint', model=model).save(2, {'updates': 2})
  run = tmp_path / 'run'
  entry('apv_ext/train.py', '--configs', base, 'debug', '--task', task, '--load_logdir', pre, '--logdir', run)
  rows = read_jsonl(run / 'metrics.jsonl')
  losses = [r for r in rows if 'train/wm/image_loss' in r]
  assert losses and all(math.isfinite(r['train/wm/image_loss']) and math.isfinite(r['train/wm/intr_mean'])
                        for r in losses)
  scores = read_jsonl(run / 'scores.jsonl')
  assert scores and scores[0]['method'] == 'apv' and scores[0]['task'] == task
