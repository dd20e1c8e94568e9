"""APV agents: the stacked model with pre-trained weights, and the naive fine-tuning ablation."""
import pathlib

from dreamerv2 import agent as agent_lib
from dreamerv2 import checkpoint as ckpt_lib
from dreamerv2 import world_model as wm_lib
from dreamerv2.errors import UserError

from . import world_model


def pretrained_checkpoint(logdir):
  """The variables prefix of the latest checkpoint of a pre-training logdir."""
  ckpt = ckpt_lib.Checkpoint(pathlib.Path(logdir).expanduser() / 'checkpoint')
  latest = ckpt.latest()
  if latest is None:
    raise UserError(f'--load_logdir {logdir} has no intact checkpoint (expected {logdir}/checkpoint/ckpt-* '
                    'written by apv_ext/train_video.py).')
  return latest / 'variables'


def check_render_settings(logdir, config, log):
  """Pre-training videos and fine-tuning frames must be rendered alike."""
  import elements
  path = pathlib.Path(logdir).expanduser() / 'config.yaml'
  if not path.exists():
    return
  old = elements.Config.load(str(path))
  for key in ('env.size', 'env.fast_render'):
    a, b = old[key], config[key]
    if a != b:
      log(f'Warning: {key} was {a} in pre-training ({path}) but is {b} here; images will differ.')


class APVAgent(agent_lib.Agent):
  """DreamerV2 agent with the stacked world model; loads pre-trained modules by name."""

  world_model_cls = world_model.APVWorldModel

  def __init__(self, config, act_dim, log=print, name='agent'):
    super().__init__(config, act_dim, name=name)
    apv = config.apv
    if apv.enc_lr_type not in ('constant', 'no_pretrain'):
      raise UserError(f"apv.enc_lr_type must be constant or no_pretrain (got '{apv.enc_lr_type}').")
    windows = config.dataset.length - config.intr.window + 1
    if config.intr.enabled and config.intr.k > config.dataset.batch * windows:
      raise UserError(f'intr.k={config.intr.k} exceeds the {config.dataset.batch * windows} pooled features per batch.')
    self._af_lr = float(config.model_opt.lr)
    self.on_update(0)
    if config.load_logdir and apv.load_pretrained:
      self.load_pretrained(config.load_logdir, log)
    else:
      log('No pre-trained weights loaded (--load_logdir empty or apv.load_pretrained False): every module starts from scratch.')

  def load_pretrained(self, logdir, log=print):
    path = pretrained_checkpoint(logdir)
    check_render_settings(logdir, self.config, log)
    names = list(self.config.apv.load_modules)
    available = self.wm.pretrained_modules()
    unknown = [n for n in names if n not in available]
    if unknown:
      raise UserError(f'apv.load_modules has unknown modules {unknown}; choose from {list(available)}.')
    try:
      count = ckpt_lib.load_modules(path, {n: available[n] for n in names}, prefix='model/')
    except ValueError as e:
      raise UserError(str(e))
    log(f'Loaded {", ".join(names)} ({count} variables) from {path}.')

  def on_update(self, updates):
    """Encoder + action-free RSSM at lr 0 during the warm-up updates (no_pretrain).

    As in the reference, Adam keeps running for the group at lr 0 (moments, step
    count, weight decay). frozen_af instead leaves the group out of training.
    """
    apv = self.config.apv
    if apv.frozen_af:
      return
    warmup = apv.enc_lr_type == 'no_pretrain' and updates < self.config.pretrain
    self.wm.set_lr('af', 0.0 if warmup else self._af_lr)


class NaiveAgent(agent_lib.Agent):
  """Naive fine-tuning: one action-conditional RSSM initialised from the action-free one.

  Pre-training with actions masked to zero is the same as pre-training without
  action inputs (zero rows contribute nothing), so the action-free checkpoint is
  loaded into the RSSM and only the action rows of its input layer start fresh.
  """

  world_model_cls = wm_lib.WorldModel

  def __init__(self, config, act_dim, log=print, name='agent'):
    super().__init__(config, act_dim, name=name)
    if config.load_logdir and config.apv.load_pretrained:
      self.load_pretrained(config.load_logdir, log)
    else:
      log('No pre-trained weights loaded: naive fine-tuning starts from scratch.')

  def load_pretrained(self, logdir, log=print):
    path = pretrained_checkpoint(logdir)
    check_render_settings(logdir, self.config, log)
    modules = self.wm.pretrained_modules()
    rssm = modules['rssm']
    zdim = rssm.stoch * rssm.discrete  # img_in reads [z; action]: load the z rows only.
    try:
      count = ckpt_lib.load_modules(path, {k: modules[k] for k in ('encoder', 'decoder')}, prefix='model/')
      count += ckpt_lib.load_modules(path, {'af_rssm': rssm}, prefix='model/', partial={'img_in/kernel': zdim})
    except ValueError as e:
      raise UserError(str(e))
    log(f'Naive fine-tuning: loaded encoder, decoder and the RSSM ({count} variables) from {path}; '
        'action-input weights re-initialised.')


def make_agent(config, act_dim, log=print):
  return (NaiveAgent if config.apv.naive else APVAgent)(config, act_dim, log)
