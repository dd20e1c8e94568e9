"""Config values checked once, right after parsing, before anything starts.

Types are the parser's job (elements keeps each key's type); this checks ranges,
choices and sizes that must fit together, so that a bad value is one line naming
the key, the value and what is expected, instead of a traceback minutes later.
Keys of an extension (apv_ext's `intr.*`, `video.*`, `apv.*`) are checked when present.
"""
import math

from .errors import UserError

# The conv encoder and decoder are built for 64x64 images (64 -> 31 -> 14 -> 6 -> 2 and back).
IMAGE_SIZE = [64, 64]

POSITIVE = (
    'envs', 'eval_envs', 'eval_every', 'eval_eps', 'log_every', 'save_every', 'train_every', 'train_steps',
    'report_batch', 'report_context', 'imag_horizon', 'slow_target_update', 'replay.capacity', 'dataset.batch',
    'env.action_repeat', 'encoder.depth', 'decoder.depth', 'rssm.deter', 'rssm.hidden', 'rssm.stoch',
    'rssm.discrete', 'reward_head.units', 'discount_head.units', 'actor.units', 'critic.units',
    # apv_ext
    'intr.window', 'intr.queue', 'intr.k', 'intr.proj_dim', 'video.batch', 'video.default_tasks',
    'video.default_episodes', 'video.default_length', 'video.dmc_episodes', 'video.dmc_length',
    'apv.af_rssm.deter', 'apv.af_rssm.hidden', 'apv.af_rssm.stoch', 'apv.af_rssm.discrete',
)
NON_NEGATIVE = (
    'steps', 'seed', 'prefill', 'pretrain', 'env.length', 'reward_head.layers', 'discount_head.layers',
    'actor.layers', 'critic.layers', 'kl.free', 'actor_ent', 'actor.min_std',
    'model_opt.lr', 'actor_opt.lr', 'critic_opt.lr', 'model_opt.wd', 'actor_opt.wd', 'critic_opt.wd',
    'intr.beta', 'video.heldout', 'video.workers',
)
STRICTLY_POSITIVE_FLOAT = ('model_opt.eps', 'actor_opt.eps', 'critic_opt.eps', 'model_opt.clip', 'actor_opt.clip',
                           'critic_opt.clip')
UNIT = ('discount_lambda', 'kl.balance', 'actor_grad_mix', 'slow_target_fraction', 'intr.ema')  # In [0, 1].
CHOICES = {
    'precision': ('32', 'bf16', '16'),
    'jit': ('auto', 'True', 'False'),
    'actor_grad': ('dynamics', 'reinforce', 'both'),
    'actor.dist': ('trunc_normal',),
    'critic.dist': ('mse',),
    'reward_head.dist': ('mse',),
    'discount_head.dist': ('binary',),
    'encoder.act': ('elu', 'relu', 'tanh', 'none'),
    'decoder.act': ('elu', 'relu', 'tanh', 'none'),
    'rssm.act': ('elu', 'relu', 'tanh', 'none'),
    'reward_head.act': ('elu', 'relu', 'tanh', 'none'),
    'discount_head.act': ('elu', 'relu', 'tanh', 'none'),
    'actor.act': ('elu', 'relu', 'tanh', 'none'),
    'critic.act': ('elu', 'relu', 'tanh', 'none'),
    'apv.enc_lr_type': ('constant', 'no_pretrain'),
    'video.format': ('auto', 'npz', 'video', 'rlbench'),
    'video.default': ('metaworld', 'dmc'),
}
# Agent steps per episode of each suite at action repeat 1 (`env.length` may shorten it).
SUITE_FRAMES = {'metaworld': 500, 'dmc': 1000, 'dummy': None}
DUMMY_STEPS = 50


def _get(config, key):
  try:
    return config[key]
  except KeyError:
    return None


def _fmt(value):
  if isinstance(value, (list, tuple)):
    return '[' + ', '.join(_fmt(v) for v in value) + ']'
  return repr(value) if isinstance(value, str) else str(value)


def episode_steps(config):
  """Agent steps per episode of the configured task, or None when the task is unknown."""
  suite = str(config.task).partition('_')[0]
  length = int(config.env.length)
  if suite == 'dummy':
    return length or DUMMY_STEPS
  if suite not in SUITE_FRAMES:
    return None
  suite_steps = math.ceil(SUITE_FRAMES[suite] / max(1, int(config.env.action_repeat)))
  return min(length, suite_steps) if length else suite_steps


def problems(config):
  """A list of 'key is value; expected ...' strings (empty when the config is fine)."""
  out = []

  def bad(key, value, expected):
    out.append(f'{key} is {_fmt(value)}; expected {expected}')

  for key in POSITIVE:
    value = _get(config, key)
    if value is not None and not value > 0:
      bad(key, value, 'a positive integer' if isinstance(value, int) else 'a positive number')
  for key in NON_NEGATIVE:
    value = _get(config, key)
    if value is not None and not value >= 0:
      bad(key, value, 'an integer >= 0' if isinstance(value, int) else 'a number >= 0')
  for key in STRICTLY_POSITIVE_FLOAT:
    value = _get(config, key)
    if value is not None and not value > 0:
      bad(key, value, 'a number > 0')
  for key in UNIT:
    value = _get(config, key)
    if value is not None and not 0 <= value <= 1:
      bad(key, value, 'a number in [0, 1]')
  discount = _get(config, 'discount')
  if discount is not None and not 0 < discount <= 1:
    bad('discount', discount, 'a number in (0, 1]')
  for key, options in CHOICES.items():
    value = _get(config, key)
    if value is not None and str(value) not in options:
      bad(key, value, 'one of ' + ', '.join(options))
  for key, value in (_get(config, 'loss_scales') or {}).items():
    if not value >= 0:
      bad(f'loss_scales.{key}', value, 'a number >= 0')

  size = list(_get(config, 'env.size') or IMAGE_SIZE)
  if size != IMAGE_SIZE:
    bad('env.size', size, '64 64 (the encoder and decoder are built for 64x64 images)')
  length = _get(config, 'dataset.length')
  if length is not None:
    if length < 2:
      bad('dataset.length', length, 'at least 2 (entries per training window)')
    steps = episode_steps(config)
    if steps is not None and length > steps + 1:
      bad('dataset.length', length, f'at most {steps + 1}: an episode of {config.task} has {steps} agent steps '
          f'(+1 reset entry) at env.action_repeat {config.env.action_repeat}, env.length {config.env.length}')
    context = _get(config, 'report_context')
    if context is not None and context > 0 and context >= length:
      bad('report_context', context, f'less than dataset.length ({length}): frames observed before the open-loop '
          'prediction')
  video_length = _get(config, 'video.length')
  if video_length is not None and video_length < 2:
    bad('video.length', video_length, 'at least 2 (frames per pre-training window)')
  context = _get(config, 'report_context')
  if video_length is not None and context is not None and context >= video_length:
    bad('report_context', context, f'less than video.length ({video_length}) for pre-training reports')
  k, queue = _get(config, 'intr.k'), _get(config, 'intr.queue')
  if k is not None and queue is not None and k > queue:
    bad('intr.k', k, f'at most intr.queue ({queue}): the neighbours come from the queue')
  periods = _get(config, 'video.dmc_periods')
  if periods is not None and (len(periods) != 2 or not 0 < periods[0] <= periods[1]):
    bad('video.dmc_periods', list(periods), 'two numbers 0 < low <= high')
  return out


def check(config):
  """Raises UserError with every bad value on one line."""
  found = problems(config)
  if found:
    raise UserError('Bad config value' + ('s' if len(found) > 1 else '') + ': ' + '; '.join(found) + '.')
  return config
