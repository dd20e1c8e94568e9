"""The DreamerV2 agent: acting, training and reporting, compiled with tf.function."""
import numpy as np
import tensorflow as tf

from . import behavior
from . import optim
from . import precision
from . import report as report_lib
from . import world_model


class Agent(tf.Module):
  """Seam: subclasses set `world_model_cls` to swap the world model."""

  world_model_cls = world_model.WorldModel

  def __init__(self, config, act_dim, name='agent'):
    super().__init__(name)
    self.config = config
    self.act_dim = act_dim
    precision.set_precision(config.precision)
    with self.name_scope:
      self.rng = tf.random.Generator.from_seed(config.seed)
      self.wm = self.world_model_cls(config, act_dim)
      self.ac = behavior.ActorCritic(config, self.wm.rssm.feat_dim, act_dim)
      self.loss_scale = optim.LossScale(str(config.precision) == '16')
    jit = resolve_jit(config.jit)
    self._train = tf.function(self._train_impl, jit_compile=jit)
    self._policy = tf.function(self._policy_impl, jit_compile=jit)
    self._report = tf.function(self._report_impl)

  def _seeds(self, *shape):
    return stateless_seeds(self.rng, *shape)

  # Acting ----------------------------------------------------------------------

  def initial_state(self, batch):
    return (self.wm.initial_latent(batch), tf.zeros([batch, self.act_dim]))

  def policy(self, obs, state, mode='train'):
    """obs: dict of [N, ...] numpy arrays; state: opaque, None to start; mode: train
    (sample) or eval (the mode of the action distribution). Returns (action, state)."""
    if state is None:
      state = self.initial_state(len(obs['is_first']))
    obs = {'image': obs['image'], 'is_first': obs['is_first']}
    action, state = self._policy(obs, state, tf.constant(mode == 'eval'))
    return action.numpy(), state

  def _policy_impl(self, obs, state, greedy):
    latent, prev_action = state
    # A new episode starts from zeros for both the latent and the previous action.
    keep = 1.0 - tf.cast(obs['is_first'], tf.float32)[:, None]
    prev_action = prev_action * keep
    seeds = self._seeds(3)
    latent, feat = self.wm.observe_step(latent, prev_action, obs, seeds[:2])
    dist = self.ac.actor(feat)
    action = tf.where(greedy, dist.mode(), dist.sample(seeds[2]))
    return action, (latent, action)

  # Training --------------------------------------------------------------------

  def train(self, data):
    """data: dict of [B, T, ...] tensors. Returns a dict of scalar metrics (numpy)."""
    metrics = self._train(data)
    return {k: v.numpy() for k, v in metrics.items()}

  def _train_impl(self, data):
    length = data['image'].shape[1]
    outs, wm_metrics = self.wm.train(data, self._seeds(2, length), self.loss_scale)
    start = {k: _flatten_bt(tf.stop_gradient(v)) for k, v in self.starts(outs).items()}
    reward_fn = lambda seq: self.wm.reward(seq['feat'])
    ac_metrics = self.ac.train(self.wm, start, reward_fn, self._seeds(self.config.imag_horizon, 2), self.loss_scale)
    metrics = {f'wm/{k}': v for k, v in wm_metrics.items()}
    metrics.update({f'ac/{k}': v for k, v in ac_metrics.items()})
    return metrics

  def on_update(self, updates):
    """Seam: called after every update with the update count (for schedules)."""

  def starts(self, outs):
    """Seam: the states imagination starts from (every posterior state of the batch)."""
    return outs['post']

  def train_model_only(self, data):
    """World-model update alone (used by benchmarks and transfer checks)."""
    if not hasattr(self, '_train_wm'):
      self._train_wm = tf.function(
          lambda d: self.wm.train(d, self._seeds(2, d['image'].shape[1]), self.loss_scale)[1],
          jit_compile=resolve_jit(self.config.jit))
    return {k: v.numpy() for k, v in self._train_wm(data).items()}

  def _report_impl(self, data):
    length = data['image'].shape[1]
    return self.wm.openloop(data, self._seeds(2, length), self.config.report_context)

  def report(self, data):
    """Open-loop video prediction for the first few sequences (`report.video_grid`)."""
    data = {k: v[:self.config.report_batch] for k, v in data.items()}
    model = self._report(data).numpy()
    return report_lib.video_grid(np.asarray(data['image']), model, self.config.report_context)


def stateless_seeds(rng, *shape):
  """A [*shape, 2] int32 tensor of stateless seeds drawn from a tf.random.Generator.

  Drawing from a checkpointed generator makes sampling resumable; TFP wants int32.
  """
  n = 1
  for s in shape:
    n *= s
  seeds = tf.cast(tf.transpose(rng.make_seeds(n)), tf.int32)
  return tf.reshape(seeds, list(shape) + [2])


def _flatten_bt(x):
  return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))


def resolve_jit(value):
  """`jit: auto` compiles with XLA on GPUs only: on CPU, XLA skips oneDNN's fast convolutions."""
  value = str(value)
  if value == 'auto':
    return bool(tf.config.list_physical_devices('GPU'))
  if value in ('True', 'False'):
    return value == 'True'
  raise ValueError(f"jit must be auto, True or False (got '{value}').")
