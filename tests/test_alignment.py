"""Time alignment against naive per-step loops: the bonus against the reward steps and
the reward-loss mask, imagination's action/weight indices, and the actor/critic shifts."""
import numpy as np
import pytest
import tensorflow as tf

from apv_ext import config as apv_config
from apv_ext import world_model as apv_wm
from dreamerv2 import behavior
from dreamerv2 import config as dv2_config
from dreamerv2 import world_model as dv2_wm
from test_intrinsic import naive_knn

ACT = 3


def batch(b, t, seed=0):
  rng = np.random.default_rng(seed)
  is_first = np.zeros((b, t), bool)
  is_first[:, 0] = True
  return {'image': tf.constant(rng.integers(0, 255, (b, t, 64, 64, 3), dtype=np.uint8)),
          'action': tf.constant(rng.uniform(-1, 1, (b, t, ACT)).astype(np.float32)),
          'reward': tf.constant(rng.normal(size=(b, t)).astype(np.float32)),
          'is_first': tf.constant(is_first), 'is_terminal': tf.zeros((b, t), bool)}


def test_bonus_lands_on_the_first_steps_and_only_they_enter_the_reward_loss():
  config = apv_config.parse(['--configs', 'metaworld', 'debug', '--intr.window', '4', '--intr.beta', '0.7'])
  wm = apv_wm.APVWorldModel(config, ACT)
  b, t, window, beta = config.dataset.batch, config.dataset.length, 4, 0.7
  data = batch(b, t)
  seeds = tf.reshape(tf.range(2 * t * 2), [2, t, 2])
  proj = wm.intr.proj.numpy().astype(np.float64)
  _, outs, metrics = wm.loss(data, seeds)

  feat = outs['af_feat'].numpy().astype(np.float64)
  reward = data['reward'].numpy().astype(np.float64)
  # Bonus of step (i, j): the window of frames j .. j + L - 1 of sequence i, projected.
  starts = [(i, j) for i in range(b) for j in range(t) if j + window <= t]
  queries = np.array([feat[i, j: j + window].mean(0) @ proj for i, j in starts])
  raw = naive_knn(queries, queries, config.intr.k)  # The queue was empty: it holds this batch.
  mag = 0.99 * 1.0 + 0.01 * np.abs(raw).mean()
  bonus = dict(zip(starts, raw / (mag + 1e-8)))

  mean = wm.heads['reward'](outs['feat']).mean().numpy().astype(np.float64)
  total, count = 0.0, 0
  for i in range(b):
    for j in range(t):
      if (i, j) not in bonus:
        continue  # The last L - 1 steps have no complete window: no bonus, no reward loss.
      target = reward[i, j] + beta * bonus[(i, j)]
      total += 0.5 * (target - mean[i, j]) ** 2 + 0.5 * np.log(2 * np.pi)
      count += 1
  assert count == b * (t - window + 1)
  np.testing.assert_allclose(metrics['reward_loss'].numpy(), total / count, rtol=1e-5)
  np.testing.assert_allclose(metrics['intr_mean'].numpy(), raw.mean(), rtol=1e-5)


def test_imagination_indices_and_weights():
  """Index 0 is the start state with a zero action; action t + 1 is the actor's sample at
  state t and leads to state t + 1; weight t is the product of the discounts before t."""
  config = dv2_config.parse(['--configs', 'debug', '--pred_discount', 'True'])
  wm = dv2_wm.WorldModel(config, ACT)
  ac = behavior.ActorCritic(config, wm.rssm.feat_dim, ACT)
  n, horizon = 5, config.imag_horizon
  rng = np.random.default_rng(1)
  start = wm.rssm.initial(n)
  start['deter'] = tf.constant(rng.normal(size=start['deter'].shape).astype(np.float32))
  seeds = tf.reshape(tf.range(horizon * 4), [horizon, 2, 2])
  seq = wm.imagine(ac.actor, start, horizon, seeds)

  state, feats, actions = start, [wm.rssm.get_feat(start)], [np.zeros((n, ACT), np.float32)]
  for h in range(horizon):
    action = ac.actor(feats[-1]).sample(seeds[h, 0])
    state = wm.rssm.img_step(state, action, seeds[h, 1])
    feats.append(wm.rssm.get_feat(state))
    actions.append(action.numpy())
  np.testing.assert_allclose(seq['feat'].numpy(), np.stack([f.numpy() for f in feats]), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(seq['action'].numpy(), np.stack(actions), rtol=1e-5, atol=1e-6)
  disc = seq['discount'].numpy()
  for h in range(horizon + 1):
    np.testing.assert_allclose(seq['weight'].numpy()[h], np.prod(disc[:h], 0), rtol=1e-5)


def naive_lambda_targets(reward, value, disc, lambda_):
  """R_t = r_t + d_t ((1 - lambda) v_{t+1} + lambda R_{t+1}), R_H = v_H; returns R_0 .. R_{H-1}."""
  horizon = len(reward) - 1
  out = [None] * (horizon + 1)
  out[horizon] = value[horizon]
  for t in reversed(range(horizon)):
    out[t] = reward[t] + disc[t] * ((1 - lambda_) * value[t + 1] + lambda_ * out[t + 1])
  return np.stack(out[:horizon])


@pytest.mark.parametrize('grad', ['dynamics', 'reinforce', 'both'])
def test_actor_and_critic_losses_use_the_right_indices(grad):
  config = dv2_config.parse(['--configs', 'debug', '--actor_grad', grad, '--actor_ent', '0.3'])
  feat_dim, n, horizon = 12, 4, config.imag_horizon
  ac = behavior.ActorCritic(config, feat_dim, ACT)
  for v in ac.target_critic.variables:  # A target critic different from the critic.
    v.assign(v * 0.5 + 0.1)
  rng = np.random.default_rng(2)
  disc = rng.uniform(0.5, 1.0, (horizon + 1, n)).astype(np.float32)
  seq = {'feat': tf.constant(rng.normal(size=(horizon + 1, n, feat_dim)).astype(np.float32)),
         'action': tf.constant(rng.uniform(-0.9, 0.9, (horizon + 1, n, ACT)).astype(np.float32)),
         'reward': tf.constant(rng.normal(size=(horizon + 1, n)).astype(np.float32)),
         'discount': tf.constant(disc),
         'weight': tf.constant(np.cumprod(np.concatenate([np.ones((1, n)), disc[:-1]]), 0).astype(np.float32))}
  target = ac.target(seq)

  # Naive, one imagined step at a time.
  value = np.stack([ac.target_critic(seq['feat'][t]).mode().numpy() for t in range(horizon + 1)])
  want = naive_lambda_targets(seq['reward'].numpy(), value, disc, config.discount_lambda)
  np.testing.assert_allclose(target.numpy(), want, rtol=1e-5, atol=1e-5)

  weight, mix, ent_scale = seq['weight'].numpy(), config.actor_grad_mix, config.actor_ent
  terms = []
  for t in range(horizon - 1):  # The policy at state t chose action t + 1, scored by target t + 1.
    policy = ac.actor(seq['feat'][t])
    advantage = want[t + 1] - value[t]
    reinforce = policy.log_prob(seq['action'][t + 1]).numpy() * advantage
    objective = {'dynamics': want[t + 1], 'reinforce': reinforce,
                 'both': mix * want[t + 1] + (1 - mix) * reinforce}[grad]
    terms.append(weight[t] * (objective + ent_scale * policy.entropy().numpy()))
  actor_loss, _ = ac.actor_loss(seq, target)
  np.testing.assert_allclose(actor_loss.numpy(), -np.mean(terms), rtol=1e-5)

  terms = []
  for t in range(horizon):  # Every state with a target; the last one only bootstraps.
    mean = ac.critic(seq['feat'][t]).mode().numpy()
    terms.append(weight[t] * (-0.5 * (want[t] - mean) ** 2 - 0.5 * np.log(2 * np.pi)))
  np.testing.assert_allclose(ac.critic_loss(seq, target).numpy(), -np.mean(terms), rtol=1e-5)
