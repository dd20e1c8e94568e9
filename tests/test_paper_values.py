"""The paper's hyperparameters, pinned: each named config against ../shared/docs/apv-spec.md.

Steps, prefill, train_every and eval_every count env frames (agent steps x action repeat).
"""
import pytest

from apv_ext import config as apv_config

# Spec sections 1 (DreamerV2 blocks, actor-critic, optimisers) and 3 (stacked model, bonus).
SHARED = {
    'encoder.depth': 48, 'encoder.kernels': [4, 4, 4, 4], 'encoder.act': 'elu',
    'decoder.depth': 48, 'decoder.kernels': [5, 5, 6, 6], 'decoder.act': 'elu',
    'rssm.deter': 1024, 'rssm.hidden': 1024, 'rssm.stoch': 32, 'rssm.discrete': 32, 'rssm.act': 'elu',
    'apv.af_rssm.deter': 1024, 'apv.af_rssm.hidden': 1024, 'apv.af_rssm.stoch': 32, 'apv.af_rssm.discrete': 32,
    'reward_head.layers': 4, 'reward_head.units': 400, 'reward_head.act': 'elu', 'reward_head.dist': 'mse',
    'pred_discount': False, 'discount': 0.99, 'discount_lambda': 0.95, 'imag_horizon': 15,
    'kl.balance': 0.8, 'loss_scales.kl': 1.0, 'loss_scales.image': 1.0, 'loss_scales.reward': 1.0,
    'loss_scales.af_kl': 0.0,
    'actor.layers': 4, 'actor.units': 400, 'actor.act': 'elu', 'actor.dist': 'trunc_normal', 'actor.min_std': 0.1,
    'critic.layers': 4, 'critic.units': 400, 'critic.act': 'elu', 'critic.dist': 'mse',
    'actor_grad': 'dynamics', 'actor_ent': 1e-4,
    'slow_target': True, 'slow_target_update': 100, 'slow_target_fraction': 1.0,
    'model_opt.lr': 3e-4, 'model_opt.eps': 1e-5, 'model_opt.clip': 100.0, 'model_opt.wd': 1e-6,
    'actor_opt.lr': 8e-5, 'actor_opt.eps': 1e-5, 'actor_opt.clip': 100.0, 'actor_opt.wd': 1e-6,
    'critic_opt.lr': 8e-5, 'critic_opt.eps': 1e-5, 'critic_opt.clip': 100.0, 'critic_opt.wd': 1e-6,
    'apv.load_pretrained': True, 'apv.load_modules': ['encoder', 'af_rssm', 'decoder'],
    'apv.frozen_af': False, 'apv.naive': False,
    'intr.enabled': True, 'intr.window': 5, 'intr.queue': 4096, 'intr.k': 16, 'intr.proj_dim': 128,
    'intr.ema': 0.99, 'intr.exclude_self': False,
    'precision': '32', 'env.size': [64, 64],
}

PAPER = {
    # Spec 3, "Fine-tuning configs", and 4 (evaluation protocol).
    'metaworld': {
        **SHARED, 'method': 'apv',
        'dataset.batch': 50, 'dataset.length': 50, 'env.action_repeat': 1, 'env.camera': 'corner',
        'env.length': 0,  # The suite's own 500 steps.
        'prefill': 5000, 'pretrain': 100, 'train_every': 5, 'train_steps': 1, 'steps': 256000,
        'replay.prioritize_ends': True, 'kl.free': 0.0,
        'eval_every': 10000, 'eval_eps': 10,
        'apv.concat_embed': False, 'apv.enc_lr_type': 'no_pretrain', 'intr.beta': 1.0,
    },
    'dmc_vision': {
        **SHARED, 'method': 'apv',
        'dataset.batch': 16, 'dataset.length': 50, 'env.action_repeat': 2,
        'prefill': 2000,  # 1000 agent steps.
        'train_every': 10, 'train_steps': 1,  # DreamerV2's 5 agent steps.
        'steps': 1000000, 'replay.prioritize_ends': False, 'kl.free': 1.0,
        'eval_every': 20000, 'eval_eps': 1,
        'apv.concat_embed': True, 'apv.enc_lr_type': 'constant', 'intr.beta': 0.1,
    },
    # Spec 2: action-free pre-training.
    'metaworld_pretrain': {
        'method': 'apv_pretrain', 'steps': 600000,
        'apv.af_rssm.deter': 1024, 'apv.af_rssm.hidden': 1024, 'apv.af_rssm.stoch': 32, 'apv.af_rssm.discrete': 32,
        'encoder.depth': 48, 'encoder.kernels': [4, 4, 4, 4], 'decoder.depth': 48, 'decoder.kernels': [5, 5, 6, 6],
        'loss_scales.kl': 0.1, 'loss_scales.image': 1.0, 'kl.free': 0.0, 'kl.balance': 0.8,
        'model_opt.lr': 3e-4, 'model_opt.eps': 1e-5, 'model_opt.clip': 100.0, 'model_opt.wd': 1e-6,
        'video.batch': 16, 'video.length': 25, 'video.prioritize_ends': True,
        'video.cameras': ['front', 'left_shoulder', 'overhead', 'right_shoulder', 'wrist'],
    },
    'dmc_vision_pretrain': {
        'method': 'apv_pretrain', 'steps': 600000,
        'apv.af_rssm.deter': 1024, 'apv.af_rssm.hidden': 1024, 'apv.af_rssm.stoch': 32, 'apv.af_rssm.discrete': 32,
        'encoder.depth': 48, 'encoder.kernels': [4, 4, 4, 4], 'decoder.depth': 48, 'decoder.kernels': [5, 5, 6, 6],
        'loss_scales.kl': 1.0, 'loss_scales.image': 1.0, 'kl.free': 1.0, 'kl.balance': 0.8,
        'model_opt.lr': 3e-4, 'model_opt.eps': 1e-5, 'model_opt.clip': 100.0, 'model_opt.wd': 1e-6,
        'video.batch': 16, 'video.length': 50, 'video.prioritize_ends': False,
    },
}


@pytest.mark.parametrize('name', sorted(PAPER))
def test_named_config_has_the_papers_values(name):
  flat = apv_config.parse(['--configs', name]).flat
  wrong = {key: (flat[key], want) for key, want in PAPER[name].items() if list_or(flat[key]) != list_or(want)}
  assert not wrong, f'{name}: key -> (config, paper) {wrong}'


def list_or(value):
  return list(value) if isinstance(value, (list, tuple)) else value


def test_pretrain_and_finetune_models_match_in_size():
  # Fine-tuning loads the pre-trained encoder, action-free RSSM and decoder by name.
  for pre, fine in (('metaworld_pretrain', 'metaworld'), ('dmc_vision_pretrain', 'dmc_vision')):
    a, b = (apv_config.parse(['--configs', n]).flat for n in (pre, fine))
    for key in a:
      if key.startswith(('apv.af_rssm.', 'encoder.', 'decoder.')):
        assert a[key] == b[key], (pre, fine, key)


ABLATIONS = ('no_intr', 'from_scratch', 'naive_ft', 'encdec_only', 'intr_window_1', 'intr_window_3',
             'intr_window_10', 'frozen_af')


def flatten(block, prefix=''):
  out = {}
  for key, value in block.items():
    if isinstance(value, dict):
      out.update(flatten(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = value
  return out


@pytest.mark.parametrize('preset', ['debug', 'small'])
@pytest.mark.parametrize('base', ['metaworld', 'dmc_vision'])
def test_presets_keep_what_defines_each_ablation(base, preset):
  # `debug` once set intr.window 3, so `intr_window_10 debug` ran with window 3.
  _, named = apv_config.load_layers()
  for name in ABLATIONS:
    flat = apv_config.parse(['--configs', base, name, preset]).flat
    for block in named[name]:
      for key, want in flatten(block).items():
        assert list_or(flat[key]) == list_or(want), f'{base} {name} {preset}: {key} is {flat[key]}, not {want}'
