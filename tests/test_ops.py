"""The math of DreamerV2 against naive references on random inputs."""
import numpy as np
import tensorflow as tf

from dreamerv2 import dists, nets, ops


def naive_lambda_return(reward, value, discount, bootstrap, lam):
  """The recursive form, one Python step at a time."""
  horizon = len(reward)
  out = np.zeros_like(reward)
  acc = bootstrap
  for t in reversed(range(horizon)):
    nxt = value[t + 1] if t + 1 < horizon else bootstrap
    acc = reward[t] + discount[t] * ((1 - lam) * nxt + lam * acc)
    out[t] = acc
  return out


def nstep_lambda_return(reward, value, discount, bootstrap, lam):
  """The definition: a (1 - lambda)-weighted mix of n-step returns, tail weight on the longest."""
  horizon = len(reward)
  values = np.concatenate([value, bootstrap[None]], 0)
  out = np.zeros_like(reward)
  for t in range(horizon):
    total = 0
    for n in range(1, horizon - t + 1):
      ret, disc = 0, 1
      for k in range(n):
        ret = ret + disc * reward[t + k]
        disc = disc * discount[t + k]
      ret = ret + disc * values[t + n]
      weight = (1 - lam) * lam ** (n - 1) if n < horizon - t else lam ** (n - 1)
      total = total + weight * ret
    out[t] = total
  return out


def test_lambda_return_matches_nstep_definition():
  rng = np.random.default_rng(0)
  horizon, batch = 7, 5
  reward = rng.normal(size=(horizon, batch)).astype(np.float32)
  value = rng.normal(size=(horizon, batch)).astype(np.float32)
  discount = rng.uniform(0.5, 1.0, size=(horizon, batch)).astype(np.float32)
  bootstrap = rng.normal(size=(batch,)).astype(np.float32)
  for lam in (0.0, 0.95, 1.0):
    got = ops.lambda_return(reward, value, discount, bootstrap, lam).numpy()
    np.testing.assert_allclose(got, nstep_lambda_return(reward, value, discount, bootstrap, lam), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, naive_lambda_return(reward, value, discount, bootstrap, lam), rtol=1e-4, atol=1e-5)


def naive_categorical_kl(p_logits, q_logits):
  def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))
  lp, lq = log_softmax(p_logits.astype(np.float64)), log_softmax(q_logits.astype(np.float64))
  return (np.exp(lp) * (lp - lq)).sum(-1).sum(-1)


def test_kl_balance_value_and_gradients():
  rng = np.random.default_rng(1)
  post = tf.constant(rng.normal(size=(4, 3, 5, 6)), tf.float32)
  prior = tf.constant(rng.normal(size=(4, 3, 5, 6)), tf.float32)
  kl = naive_categorical_kl(post.numpy(), prior.numpy())
  for free in (0.0, 1.0, 100.0):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([post, prior])
      loss, value = ops.kl_balance(post, prior, balance=0.8, free=free)
    np.testing.assert_allclose(value.numpy(), kl, rtol=1e-4, atol=1e-6)
    expected = max(kl.mean(), free)  # Both balance terms have the same value.
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-4)
    grad_post = tape.gradient(loss, post)
    grad_prior = tape.gradient(loss, prior)
    if free > kl.mean():
      assert np.all(grad_post.numpy() == 0) and np.all(grad_prior.numpy() == 0)
      continue
    # The posterior receives 0.2 and the prior 0.8 of the plain KL gradient.
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([post, prior])
      plain = tf.reduce_mean(dists.categorical(post).kl_divergence(dists.categorical(prior)))
    np.testing.assert_allclose(grad_post.numpy(), 0.2 * tape.gradient(plain, post).numpy(), rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(grad_prior.numpy(), 0.8 * tape.gradient(plain, prior).numpy(), rtol=1e-3, atol=1e-7)


def test_straight_through_sample_is_one_hot_with_softmax_gradient():
  logits = tf.constant(np.random.default_rng(2).normal(size=(8, 4, 5)), tf.float32)
  weights = tf.constant(np.random.default_rng(3).normal(size=(8, 4, 5)), tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    sample = dists.straight_through_sample(logits, tf.constant([1, 2]))
    out = tf.reduce_sum(sample * weights)
  grad = tape.gradient(out, logits)
  values = sample.numpy()
  np.testing.assert_allclose(values.sum(-1), 1.0, atol=1e-6)
  assert set(np.round(values, 5).ravel()) <= {0.0, 1.0}
  with tf.GradientTape() as ref_tape:
    ref_tape.watch(logits)
    ref = tf.reduce_sum(tf.nn.softmax(logits) * weights)
  np.testing.assert_allclose(grad.numpy(), ref_tape.gradient(ref, logits).numpy(), rtol=1e-5, atol=1e-7)


def test_straight_through_sample_frequencies():
  logits = tf.math.log(tf.constant([[0.1, 0.2, 0.7]]))
  samples = np.stack([dists.straight_through_sample(logits, tf.constant([i, 7])).numpy()[0] for i in range(2000)])
  np.testing.assert_allclose(samples.mean(0), [0.1, 0.2, 0.7], atol=0.04)


def test_gru_cell_matches_numpy():
  rng = np.random.default_rng(4)
  cell = nets.GRUCell(3, 4)
  x = rng.normal(size=(2, 3)).astype(np.float32)
  h = rng.normal(size=(2, 4)).astype(np.float32)
  kernel, bias = cell.dense.kernel.numpy(), cell.dense.bias.numpy()
  parts = np.concatenate([x, h], -1) @ kernel + bias
  mean, var = parts.mean(-1, keepdims=True), parts.var(-1, keepdims=True)
  parts = (parts - mean) / np.sqrt(var + 1e-3) * cell.norm.scale.numpy() + cell.norm.offset.numpy()
  reset, cand, update = np.split(parts, 3, -1)
  sigmoid = lambda v: 1 / (1 + np.exp(-v))
  cand = np.tanh(sigmoid(reset) * cand)
  update = sigmoid(update - 1)
  expected = update * cand + (1 - update) * h
  np.testing.assert_allclose(cell(tf.constant(x), tf.constant(h)).numpy(), expected, rtol=1e-4, atol=1e-5)
