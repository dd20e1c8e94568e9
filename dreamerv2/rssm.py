"""Recurrent state-space model with discrete latents (DreamerV2).

State: {deter h [B, D], stoch z [B, S, K] one-hot, logit [B, S, K]}.
Subclasses may add state keys but must not rename these.
"""
import tensorflow as tf

from . import dists
from . import nets


class RSSM(tf.Module):

  def __init__(self, embed_dim, action_dim, deter=200, hidden=200, stoch=32, discrete=32,
               act='elu', name='rssm'):
    super().__init__(name)
    self.embed_dim, self.action_dim = embed_dim, action_dim
    self.deter, self.stoch, self.discrete = deter, stoch, discrete
    self.feat_dim = stoch * discrete + deter
    with self.name_scope:
      self.img_in = nets.Dense(stoch * discrete + action_dim, hidden, act, name='img_in')
      self.cell = nets.GRUCell(hidden, deter, name='cell')
      self.img_out = nets.Dense(deter, hidden, act, name='img_out')
      self.img_logits = nets.Dense(hidden, stoch * discrete, name='img_logits')
      self.obs_out = nets.Dense(deter + embed_dim, hidden, act, name='obs_out')
      self.obs_logits = nets.Dense(hidden, stoch * discrete, name='obs_logits')

  def initial(self, batch):
    return {
        'deter': tf.zeros([batch, self.deter]),
        'stoch': tf.zeros([batch, self.stoch, self.discrete]),
        'logit': tf.zeros([batch, self.stoch, self.discrete]),
    }

  def get_feat(self, state):
    stoch = tf.reshape(state['stoch'], tf.concat([tf.shape(state['stoch'])[:-2], [self.stoch * self.discrete]], 0))
    return tf.concat([stoch, state['deter']], -1)

  def get_dist(self, state):
    return dists.categorical(state['logit'])

  def _logits(self, x):
    return tf.reshape(tf.cast(x, tf.float32), tf.concat([tf.shape(x)[:-1], [self.stoch, self.discrete]], 0))

  def prior_logit(self, deter):
    """Prior logits from the deterministic state; works on any batch shape."""
    return self._logits(self.img_logits(self.img_out(deter)))

  def _img_input(self, stoch, action):
    x = tf.reshape(stoch, [-1, self.stoch * self.discrete])
    if self.action_dim:
      x = tf.concat([x, tf.cast(action, x.dtype)], -1)
    return x

  def img_step(self, prev, action, seed):
    """Prior step p(z_t | h_t), h_t = GRU(z_{t-1}, a_{t-1}, h_{t-1})."""
    deter = self._deter_step(prev, action)
    logit = self.prior_logit(deter)
    return {'deter': deter, 'stoch': dists.straight_through_sample(logit, seed), 'logit': logit}

  def _deter_step(self, prev, action):
    x = self.img_in(self._img_input(prev['stoch'], action))
    return tf.cast(self.cell(x, prev['deter']), tf.float32)

  def obs_step(self, prev, action, embed, is_first, seed):
    """Posterior step q(z_t | h_t, e_t). Resets state and action where is_first.

    The prior logits are not needed to carry the recurrence, so this step does not
    compute them; `observe` computes them for the whole sequence at once.
    """
    keep = 1.0 - tf.cast(is_first, tf.float32)
    prev = {k: v * tf.reshape(keep, [-1] + [1] * (len(v.shape) - 1)) for k, v in prev.items()}
    if self.action_dim:
      action = tf.cast(action, tf.float32) * keep[:, None]
    deter = self._deter_step(prev, action)
    x = self.obs_out(tf.concat([tf.cast(deter, embed.dtype), embed], -1))
    logit = self._logits(self.obs_logits(x))
    post = {'deter': deter, 'stoch': dists.straight_through_sample(logit, seed), 'logit': logit}
    return post

  def observe(self, embed, action, is_first, seeds, state=None):
    """Posterior and prior for a sequence.

    embed [B, T, E], action [B, T, A] (a_{t-1}, the action that led to o_t),
    is_first [B, T], seeds [T, 2]. Returns post, prior: dicts of [B, T, ...];
    the prior holds deter and logit.
    """
    batch = tf.shape(embed)[0]
    state = self.initial(batch) if state is None else state
    swap = lambda x: tf.transpose(x, [1, 0] + list(range(2, len(x.shape))))
    if action is None:
      action = tf.zeros(tf.concat([tf.shape(embed)[:2], [0]], 0))
    with nets.pretransposed(self):
      # The layers obs_step calls once per step: their kernel gradients are taken after the loop.
      loop = nets.LoopKernelGrads([self.img_in, self.cell.dense, self.obs_out, self.obs_logits],
                                  tf.shape(embed)[1], batch)

      def step(prev, xs):
        with loop.step(xs[4]):
          post = self.obs_step(prev[0], xs[1], xs[0], xs[2], xs[3])
        return post, loop.recorded()

      elems = (swap(embed), swap(action), swap(is_first), seeds, loop.zeros)
      post, inputs = tf.scan(step, elems, (state, loop.initial()))
      loop.set_inputs(inputs)
    post = {k: swap(v) for k, v in post.items()}
    prior = {'deter': post['deter'], 'logit': self.prior_logit(post['deter'])}
    return post, prior

  def imagine(self, action, state, seeds):
    """Open-loop prior rollout from `state` given actions [B, H, A]; seeds [H, 2]."""
    swap = lambda x: tf.transpose(x, [1, 0] + list(range(2, len(x.shape))))
    step = lambda prev, xs: self.img_step(prev, xs[0], xs[1])
    prior = tf.scan(step, (swap(action), seeds), state)
    return {k: swap(v) for k, v in prior.items()}
