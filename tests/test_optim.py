"""The optimiser: Keras's Adam (epsilon hat), decoupled weight decay, lr 0, skipped non-finite updates."""
import numpy as np
import tensorflow as tf

from dreamerv2 import optim


def step(opt, var, loss_fn, scale=None):
  scale = scale or optim.LossScale(False)
  with tf.GradientTape() as tape:
    loss = loss_fn(var)
  return optim.minimize(tape, loss, {'opt': opt}, scale)


def test_adam_first_step_and_weight_decay():
  var = tf.Variable([1.0, -2.0])
  opt = optim.Adam([var], lr=0.1, eps=1e-8, clip=0, wd=0.01)
  step(opt, var, lambda v: tf.reduce_sum(3.0 * v))
  # First Adam step moves each weight by lr * sign(grad), after the decay.
  np.testing.assert_allclose(var.numpy(), np.array([1.0, -2.0]) * 0.99 - 0.1, rtol=1e-5)


def test_nonfinite_update_is_skipped():
  var = tf.Variable([1.0, 2.0])
  opt = optim.Adam([var], lr=0.1)
  metrics = step(opt, var, lambda v: tf.reduce_sum(v) * np.inf)
  assert metrics['nonfinite'].numpy() == 1.0
  np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])
  np.testing.assert_array_equal(opt.mom[0].numpy(), [0.0, 0.0])
  assert opt.step.numpy() == 0 and opt.skipped.numpy() == 1 and metrics['opt_skipped_total'].numpy() == 1
  metrics = step(opt, var, lambda v: tf.reduce_sum(v * v))
  assert metrics['nonfinite'].numpy() == 0.0 and not np.allclose(var.numpy(), [1.0, 2.0])


def keras_adam(w, grads, lrs, eps, wd, b1=0.9, b2=0.999):
  """The reference's update in float64: w *= 1 - wd, then
  w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), every step, also at lr 0."""
  w, m, v = np.array(w, np.float64), np.zeros_like(w, np.float64), np.zeros_like(w, np.float64)
  for t, (g, lr) in enumerate(zip(grads, lrs), 1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    w = w * (1 - wd) - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
  return w, m, v


def run_steps(w0, grads, lrs, eps, wd, clip=0):
  var = tf.Variable(w0)
  opt = optim.Adam([var], lr=lrs[0], eps=eps, clip=clip, wd=wd)
  for g, lr in zip(grads, lrs):
    opt.lr.assign(lr)
    step(opt, var, lambda v: tf.reduce_sum(tf.constant(g) * v))  # d loss / d v = g.
  return var, opt


def test_adam_is_keras_epsilon_hat_form_over_steps():
  rng = np.random.default_rng(0)
  w0 = rng.normal(size=6).astype(np.float32)
  # Gradients down to 1e-6, where eps 1e-5 added before or after bias correction differs most.
  grads = [(rng.normal(size=6) * 10.0 ** rng.integers(-6, 1, size=6)).astype(np.float32) for _ in range(8)]
  lrs = [3e-4] * 8
  var, opt = run_steps(w0, grads, lrs, eps=1e-5, wd=1e-6)
  want, m, v = keras_adam(w0, grads, lrs, eps=1e-5, wd=1e-6)
  # The steps sum to ~1e-3 on weights ~1: atol is float32's resolution of the weights.
  np.testing.assert_allclose(var.numpy() - w0, want - w0, rtol=1e-4, atol=3e-7)
  np.testing.assert_allclose(opt.mom[0].numpy(), m, rtol=1e-5)
  np.testing.assert_allclose(opt.sq[0].numpy(), v, rtol=1e-5)
  assert opt.step.numpy() == 8
  # The Adam paper's form (eps on the bias-corrected sqrt(v)) is measurably different here.
  m1, v1 = 0.1 * grads[0], 0.001 * grads[0] ** 2
  paper_first = -3e-4 * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + 1e-5)
  keras_first = keras_adam(w0, grads[:1], lrs[:1], 1e-5, 0.0)[0] - w0
  assert np.max(np.abs(paper_first - keras_first) / np.abs(keras_first)) > 0.5


def test_adam_matches_tf_keras_adam():
  """Against the Keras 2 (optimizer_v2) Adam that DreamerV2's reference ran."""
  from tf_keras.optimizers import legacy
  rng = np.random.default_rng(1)
  w0 = rng.normal(size=(3, 4)).astype(np.float32)
  grads = [(rng.normal(size=(3, 4)) * 1e-4).astype(np.float32) for _ in range(5)]
  var, _ = run_steps(w0, grads, [1e-3] * 5, eps=1e-5, wd=0.0)
  ref = tf.Variable(w0)
  keras = legacy.Adam(learning_rate=1e-3, epsilon=1e-5)
  for g in grads:
    keras.apply_gradients([(tf.constant(g), ref)])
  np.testing.assert_allclose(var.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)


def test_zero_lr_keeps_moments_step_count_and_weight_decay():
  """The warm-up freeze (lr 0) as in the reference: only the Adam step is zero."""
  rng = np.random.default_rng(2)
  w0 = rng.normal(size=5).astype(np.float32)
  grads = [rng.normal(size=5).astype(np.float32) for _ in range(6)]
  lrs = [0.0, 0.0, 0.0, 1e-3, 1e-3, 1e-3]
  wd = 1e-2
  var, opt = run_steps(w0, grads[:3], lrs[:3], eps=1e-5, wd=wd)
  np.testing.assert_allclose(var.numpy(), w0 * (1 - wd) ** 3, rtol=1e-6)
  assert opt.step.numpy() == 3 and np.all(opt.mom[0].numpy() != 0) and np.all(opt.sq[0].numpy() != 0)
  var, opt = run_steps(w0, grads, lrs, eps=1e-5, wd=wd)
  want, m, _ = keras_adam(w0, grads, lrs, eps=1e-5, wd=wd)
  np.testing.assert_allclose(var.numpy(), want, rtol=1e-5)
  np.testing.assert_allclose(opt.mom[0].numpy(), m, rtol=1e-5)
  # Skipping the frozen steps instead (fresh moments at step 4) would land elsewhere.
  skipped, _, _ = keras_adam(w0, grads[3:], lrs[3:], eps=1e-5, wd=wd)
  assert np.max(np.abs(skipped - want)) > 1e-4


def test_clipping_and_loss_scale():
  var = tf.Variable([0.0])
  opt = optim.Adam([var], lr=1.0, clip=1.0)
  scale = optim.LossScale(True, initial=8.0)
  metrics = step(opt, var, lambda v: tf.reduce_sum(100.0 * v), scale)
  np.testing.assert_allclose(metrics['opt_grad_norm'].numpy(), 100.0, rtol=1e-6)  # Unscaled norm.
  step(opt, var, lambda v: tf.reduce_sum(v) * np.inf, scale)
  assert scale.scale.numpy() == 4.0


def test_checkpoint_keys_follow_module_paths_not_optimizer(tmp_path):
  class Model(tf.Module):
    def __init__(self):
      super().__init__('m')
      self.layer = tf.Module()
      self.layer.kernel = tf.Variable([1.0, 2.0])
      self.opt = optim.Adam([self.layer.kernel], lr=0.1)
  path = tf.train.Checkpoint(model=Model()).write(str(tmp_path / 'ckpt'))
  keys = [k for k, _ in tf.train.list_variables(path)]
  assert 'model/layer/kernel/.ATTRIBUTES/VARIABLE_VALUE' in keys
  assert not any('_refs' in k or 'variables_' in k for k in keys)
