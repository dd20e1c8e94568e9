"""The DreamerV2 world model: encoder, RSSM, heads, losses and imagination.

Seams for extensions (each defaults to plain DreamerV2; `apv_ext` overrides them):
  extra_modules(config)          {attribute: module} built before the RSSM (e.g. APV's
                                 action-free RSSM and bonus), set as attributes
  make_rssm(config, act_dim)     the RSSM that carries the actor's state (builds nothing else)
  embed(data, seeds)             what the RSSM observes, plus extra losses/outputs
  reward_target(data, outs)      target and per-step weight of the reward head
  optimizer_groups()             parameter groups, each with its own optimiser
  frozen_groups()                groups not trained at all in this run (no optimiser, no gradients)
  pretrained_modules()           {name: module} that pre-trained weights load into, by name
Callers use methods, never the optimisers or heads: set_lr(group, lr), reward(feat).
  initial_latent / observe_step  the policy's opaque recurrent state
Extra losses are returned by name and weighted by `loss_scales[name]`.
"""
import tensorflow as tf

from . import dists
from . import nets
from . import ops
from . import optim
from . import report
from . import rssm as rssm_lib


class WorldModel(tf.Module):

  def __init__(self, config, act_dim, name='wm'):
    super().__init__(name)
    self.config = config
    self.act_dim = act_dim
    with self.name_scope:
      self.encoder = nets.Encoder(**config.encoder)
      for key, module in self.extra_modules(config).items():
        setattr(self, key, module)  # Attribute names are the checkpoint keys.
      self.rssm = self.make_rssm(config, act_dim)
      feat = self.rssm.feat_dim
      self.heads = {'decoder': nets.Decoder(feat, **config.decoder, name='decoder')}
      self.heads['reward'] = dists.Head(feat, (), **config.reward_head, name='reward')
      if config.pred_discount:
        self.heads['discount'] = dists.Head(feat, (), **config.discount_head, name='discount')
      frozen = self.frozen_groups()
      self.optimizers = {
          key: optim.Adam(variables, **config.model_opt, name=f'opt_{key}')
          for key, variables in self.optimizer_groups().items() if key not in frozen}

  # Seams ---------------------------------------------------------------------

  def extra_modules(self, config):
    return {}

  def make_rssm(self, config, act_dim):
    return rssm_lib.RSSM(self.encoder.embed_dim, act_dim, **config.rssm, name='rssm')

  def embed(self, data, seeds):
    """Returns (rssm input [B, T, E], extra losses dict, extra outputs dict).

    seeds [T, 2] are for any sampling the embedding needs (APV's action-free RSSM).
    """
    return self.encoder(data['image']), {}, {}

  def reward_target(self, data, outs):
    """Returns (reward target [B, T], loss weight [B, T], metrics)."""
    reward = tf.cast(data['reward'], tf.float32)
    return reward, tf.ones_like(reward), {}

  def optimizer_groups(self):
    variables = list(self.encoder.trainable_variables) + list(self.rssm.trainable_variables)
    for head in self.heads.values():
      variables += list(head.trainable_variables)
    return {'model': variables}

  def frozen_groups(self):
    return set()

  def pretrained_modules(self):
    """What a DreamerV2 checkpoint of the same sizes can transfer (APV's naive fine-tuning
    loads an action-free RSSM into `rssm`)."""
    return {'encoder': self.encoder, 'rssm': self.rssm, 'decoder': self.heads['decoder']}

  def initial_latent(self, batch):
    return self.rssm.initial(batch)

  def observe_step(self, latent, prev_action, obs, seeds):
    """One posterior step for acting; seeds [2, 2]. Returns (latent, feature for the actor)."""
    embed = self.encoder(obs['image'])
    post = self.rssm.obs_step(latent, prev_action, embed, obs['is_first'], seeds[1])
    return post, self.rssm.get_feat(post)

  # Training ------------------------------------------------------------------

  def set_lr(self, group, lr):
    """Sets a parameter group's learning rate (for schedules; no retracing).

    At lr 0 the group's Adam still runs, as the reference's Keras Adam does: its
    moments and step count advance and weight decay shrinks the weights.
    """
    self.optimizers[group].lr.assign(lr)

  def reward(self, feat):
    """The reward head's prediction (its mode) for model features [..., F]."""
    return self.heads['reward'](feat).mode()

  def loss(self, data, seeds):
    """data: dict of [B, T, ...]; seeds [2, T, 2] (embed, RSSM). Returns (loss, outs, metrics)."""
    embed, extra_losses, outs = self.embed(data, seeds[0])
    post, prior = self.rssm.observe(embed, data['action'], data['is_first'], seeds[1])
    kl_loss, kl_value = ops.kl_balance(post['logit'], prior['logit'], **self.config.kl)
    feat = self.rssm.get_feat(post)
    outs.update(post=post, prior=prior, feat=feat, embed=embed)
    losses = {'kl': kl_loss, **extra_losses}
    metrics = {}
    for name, head in self.heads.items():
      inp = feat if name in self.config.grad_heads else tf.stop_gradient(feat)
      if name == 'decoder':
        losses['image'] = dists.image_nll(head(inp), data['image'])
      elif name == 'reward':
        target, weight, mets = self.reward_target(data, outs)
        metrics.update(mets)
        like = head(inp).log_prob(target)
        losses['reward'] = -tf.reduce_sum(like * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)
      elif name == 'discount':
        target = 1.0 - tf.cast(data['is_terminal'], tf.float32)
        losses['discount'] = -tf.reduce_mean(head(inp).log_prob(target))
    scales = self.config.loss_scales
    total = sum(scales[k] * v for k, v in losses.items())
    metrics.update({f'{k}_loss': v for k, v in losses.items()})
    metrics['model_loss'] = total
    metrics.update(report.latent_metrics(post, prior, kl_value))
    return total, outs, metrics

  def train(self, data, seeds, loss_scale):
    with tf.GradientTape() as tape:
      loss, outs, metrics = self.loss(data, seeds)
    metrics.update(optim.minimize(tape, loss, self.optimizers, loss_scale))
    return outs, metrics

  # Imagination ---------------------------------------------------------------

  def imagine(self, actor, start, horizon, seeds):
    """Rolls the actor out in the RSSM from every start state.

    start: RSSM state of [N, ...]; seeds [horizon, 2, 2]. Returns a dict of
    [horizon + 1, N, ...] with feat, action, discount and weight, where index 0 is
    the start state (its action is zero: it came from the replay buffer).
    """
    feat0 = self.rssm.get_feat(start)
    action0 = tf.zeros([tf.shape(feat0)[0], self.act_dim])

    def step(prev, seed):
      state, feat, _ = prev
      action = actor(tf.stop_gradient(feat)).sample(seed[0])
      state = self.rssm.img_step(state, action, seed[1])
      return state, self.rssm.get_feat(state), action

    states, feats, actions = tf.scan(step, seeds, (start, feat0, action0))
    seq = {
        'feat': tf.concat([feat0[None], feats], 0),
        'action': tf.concat([action0[None], actions], 0),
    }
    if 'discount' in self.heads:
      disc = self.heads['discount'](seq['feat']).mean()
    else:
      disc = self.config.discount * tf.ones(tf.shape(seq['feat'])[:-1])
    seq['discount'] = disc
    # A discount says whether the *next* state is valid, so the weight of state t
    # is the product of the discounts before it: [1, d0, d0 d1, ...].
    seq['weight'] = tf.stop_gradient(tf.math.cumprod(tf.concat([tf.ones_like(disc[:1]), disc[:-1]], 0), 0))
    return seq

  def openloop(self, data, seeds, context=5):
    """The model's frames for `report.video_grid`: [B, T, H, W, C] floats in ~[0, 1].

    The first `context` frames are observed and reconstructed; afterwards the prior
    is rolled out with the recorded actions and decoded.
    """
    embed, _, _ = self.embed(data, seeds[0])
    seeds = seeds[1]
    observe = lambda n: self.rssm.observe(
        embed[:, :n], data['action'][:, :n], data['is_first'][:, :n], seeds[:n])[0]
    rollout = lambda last: self.rssm.imagine(data['action'][:, context:], last, seeds[context:])
    decode = lambda state: self.heads['decoder'](self.rssm.get_feat(state))
    return report.openloop(observe, rollout, decode, context)
