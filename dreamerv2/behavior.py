"""Actor-critic learned in imagination (DreamerV2, appendix A of the APV paper)."""
import tensorflow as tf

from . import dists
from . import ops
from . import optim


class ActorCritic(tf.Module):

  def __init__(self, config, feat_dim, act_dim, name='ac'):
    super().__init__(name)
    self.config = config
    with self.name_scope:
      self.actor = dists.Head(feat_dim, (act_dim,), **config.actor, name='actor')
      self.critic = dists.Head(feat_dim, (), **config.critic, name='critic')
      self.target_critic = dists.Head(feat_dim, (), **config.critic, name='target_critic')
      self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='updates')
      self.actor_opt = optim.Adam(self.actor.trainable_variables, **config.actor_opt, name='actor_opt')
      self.critic_opt = optim.Adam(self.critic.trainable_variables, **config.critic_opt, name='critic_opt')
    self._copy_target(1.0)

  def train(self, world_model, start, reward_fn, seeds, loss_scale):
    """start: RSSM state of [N, ...]; reward_fn(seq) -> [H+1, N]; seeds [H, 2, 2]."""
    with tf.GradientTape() as actor_tape:
      seq = world_model.imagine(self.actor, start, self.config.imag_horizon, seeds)
      seq['reward'] = reward_fn(seq)
      target = self.target(seq)
      actor_loss, metrics = self.actor_loss(seq, target)
    with tf.GradientTape() as critic_tape:
      critic_loss = self.critic_loss(seq, target)
    for key, value in optim.minimize(actor_tape, actor_loss, {'actor': self.actor_opt}, loss_scale).items():
      metrics[key] = value
    for key, value in optim.minimize(critic_tape, critic_loss, {'critic': self.critic_opt}, loss_scale).items():
      metrics[f'critic_{key}' if key == 'nonfinite' else key] = value
    self.update_slow_target()
    metrics.update(
        actor_loss=actor_loss, critic_loss=critic_loss,
        reward_mean=tf.reduce_mean(seq['reward']), reward_std=tf.math.reduce_std(seq['reward']),
        target_mean=tf.reduce_mean(target), target_std=tf.math.reduce_std(target),
        imag_action_std=tf.math.reduce_std(seq['action'][1:]))
    return metrics

  def target(self, seq):
    # States:    [z0]  [z1]  [z2]  [z3]
    # Rewards:   [r0]  [r1]  [r2]   r3
    # Values:    [v0]  [v1]  [v2]  [v3]
    # Discounts: [d0]  [d1]  [d2]   d3
    # Targets:    t0    t1    t2
    # The last state only bootstraps; r_t here is the reward predicted for state t.
    reward = tf.cast(seq['reward'], tf.float32)
    disc = tf.cast(seq['discount'], tf.float32)
    value = self.target_critic(seq['feat']).mode()
    return ops.lambda_return(reward[:-1], value[:-1], disc[:-1], value[-1], self.config.discount_lambda)

  def actor_loss(self, seq, target):
    # Actions:     0   [a1]  [a2]   a3
    #                 ^  |  ^  |  ^  |
    #                /   v /   v /   v
    # States:    [z0]->[z1]-> z2 -> z3
    # Targets:    t0   [t1]  [t2]
    # Baselines: [v0]  [v1]   v2    v3
    # Entropies:       [e1]  [e2]
    # Weights:   [ 1]  [w1]   w2    w3
    # Loss:             l1    l2
    # The policy at state t chose the action stored at t + 1. The last two states
    # drop out: one only bootstraps, the other's action leads nowhere we score.
    metrics = {}
    policy = self.actor(tf.stop_gradient(seq['feat'][:-2]))
    grad = self.config.actor_grad
    if grad == 'dynamics':
      objective = target[1:]
    else:
      baseline = self.target_critic(seq['feat'][:-2]).mode()
      advantage = tf.stop_gradient(target[1:] - baseline)
      objective = policy.log_prob(tf.stop_gradient(seq['action'][1:-1])) * advantage
      if grad == 'both':
        mix = self.config.actor_grad_mix
        objective = mix * target[1:] + (1 - mix) * objective
      elif grad != 'reinforce':
        raise ValueError(f"actor_grad must be dynamics, reinforce or both (got '{grad}').")
    ent = policy.entropy()
    objective += self.config.actor_ent * ent
    weight = tf.stop_gradient(seq['weight'])
    loss = -tf.reduce_mean(weight[:-2] * objective)
    metrics['actor_ent'] = tf.reduce_mean(ent)
    return loss, metrics

  def critic_loss(self, seq, target):
    # States:    [z0]  [z1]  [z2]   z3
    # Values:    [v0]  [v1]  [v2]   v3
    # Weights:   [ 1]  [w1]  [w2]   w3
    # Targets:   [t0]  [t1]  [t2]
    # Loss:       l0    l1    l2
    dist = self.critic(tf.stop_gradient(seq['feat'][:-1]))
    weight = tf.stop_gradient(seq['weight'])
    return -tf.reduce_mean(dist.log_prob(tf.stop_gradient(target)) * weight[:-1])

  def update_slow_target(self):
    # Without a slow target, the "target" critic is a copy refreshed every update.
    every = self.config.slow_target_update if self.config.slow_target else 1
    fraction = self.config.slow_target_fraction if self.config.slow_target else 1.0
    mix = tf.where(self.updates % every == 0, fraction, 0.0)
    self._copy_target(mix)
    self.updates.assign_add(1)

  def _copy_target(self, mix):
    for s, d in zip(self.critic.variables, self.target_critic.variables):
      d.assign(mix * s + (1 - mix) * d)
