"""The optimiser: Adam step, decoupled weight decay, skipped non-finite updates, freezing."""
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


def test_zero_lr_freezes_without_weight_decay():
  var = tf.Variable([1.0, 2.0])
  opt = optim.Adam([var], lr=0.0, wd=0.5)
  step(opt, var, lambda v: tf.reduce_sum(v * v))
  np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])


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
