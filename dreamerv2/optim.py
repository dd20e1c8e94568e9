"""Adam with global-norm clipping, decoupled weight decay and skipped non-finite updates.

Written out (about 40 lines) instead of using a Keras optimiser so that its slots
are name-keyed in our checkpoints, several parameter groups can share one
gradient computation and one loss scale, and a non-finite step leaves weights *and*
moments untouched.

The update is TF/Keras Adam's, which DreamerV2 and the APV reference ran: epsilon is
added to the uncorrected sqrt(v) ("epsilon hat"), not to the bias-corrected one of
the Adam paper's Algorithm 1; at eps 1e-5 the two differ by ~70% on a weight's
first step. At lr 0 the step is zero but everything else runs as in the
reference: moments and step count advance and weight decay shrinks the weights.
"""
import tensorflow as tf


class _Refs:
  """Plain references: a checkpoint must key each weight by its module path
  (`encoder/convs/0/kernel`), not by the shorter path through an optimiser."""

  def __init__(self, items):
    self.items = list(items)


class Adam(tf.Module):

  def __init__(self, variables, lr, eps=1e-5, clip=100.0, wd=0.0, beta1=0.9, beta2=0.999, name=None):
    super().__init__(name)
    self._refs = _Refs(variables)
    if not self.variables_:
      raise ValueError(f"Optimizer '{name}' got no variables.")
    with self.name_scope:
      self.lr = tf.Variable(float(lr), trainable=False, name='lr')
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
      self.skipped = tf.Variable(0, dtype=tf.int64, trainable=False, name='skipped')
      self.mom = [tf.Variable(tf.zeros_like(v), trainable=False, name='mom') for v in self.variables_]
      self.sq = [tf.Variable(tf.zeros_like(v), trainable=False, name='sq') for v in self.variables_]
    self._eps, self._clip, self._wd = eps, clip, wd
    self._b1, self._b2 = beta1, beta2

  @property
  def variables_(self):
    """The variables this optimiser updates (not owned: see _Refs)."""
    return self._refs.items

  def apply(self, grads, finite):
    """Applies one update unless `finite` is False (then nothing changes but `skipped`)."""
    grads = [tf.zeros_like(v) if g is None else tf.cast(g, tf.float32) for g, v in zip(grads, self.variables_)]
    norm = tf.linalg.global_norm(grads)
    if self._clip:
      grads, _ = tf.clip_by_global_norm(grads, self._clip, use_norm=norm)
    active = finite
    step = tf.cast(self.step + 1, tf.float32)
    # Keras: lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); w -= lr_t * m / (sqrt(v) + eps).
    lr_t = self.lr * tf.sqrt(1 - self._b2 ** step) / (1 - self._b1 ** step)
    for var, grad, mom, sq in zip(self.variables_, grads, self.mom, self.sq):
      grad = tf.where(active, grad, 0.0)  # Keeps NaNs out of the arithmetic below.
      # The moment updates in the form of TF's ApplyAdam kernel.
      new_mom = mom + (grad - mom) * (1 - self._b1)
      new_sq = sq + (grad * grad - sq) * (1 - self._b2)
      update = lr_t * new_mom / (tf.sqrt(new_sq) + self._eps)
      # Decoupled weight decay: shrink the weights, then take the Adam step.
      new_var = var * (1 - self._wd) - update
      var.assign(tf.where(active, new_var, var))
      mom.assign(tf.where(active, new_mom, mom))
      sq.assign(tf.where(active, new_sq, sq))
    self.step.assign_add(tf.cast(active, tf.int64))
    self.skipped.assign_add(tf.cast(tf.logical_not(finite), tf.int64))
    return {'grad_norm': norm, 'lr': tf.identity(self.lr), 'skipped_total': tf.identity(self.skipped)}


class LossScale(tf.Module):
  """Dynamic loss scaling for float16; a no-op otherwise."""

  def __init__(self, enabled, initial=2.0 ** 15, period=1000, name='loss_scale'):
    super().__init__(name)
    self.enabled = enabled
    with self.name_scope:
      self.scale = tf.Variable(initial if enabled else 1.0, trainable=False, name='scale')
      self.good = tf.Variable(0, dtype=tf.int64, trainable=False, name='good_steps')
    self._period = period

  def update(self, finite):
    if not self.enabled:
      return
    grow = tf.logical_and(finite, self.good + 1 >= self._period)
    self.scale.assign(tf.where(finite, tf.where(grow, self.scale * 2, self.scale), self.scale / 2))
    self.good.assign(tf.where(tf.logical_and(finite, tf.logical_not(grow)), self.good + 1, 0))


def minimize(tape, loss, optimizers, loss_scale):
  """One gradient pass for several parameter groups; each group clips its own norm.

  If the loss or any gradient is non-finite, no group is updated and the step is
  reported in `nonfinite`.
  """
  variables = [v for opt in optimizers.values() for v in opt.variables_]
  # Seeding backprop with the scale is loss scaling without recording a multiply
  # on the (already closed) tape.
  grads = tape.gradient(loss, variables, output_gradients=loss_scale.scale)
  grads = [None if g is None else tf.cast(g, tf.float32) / loss_scale.scale for g in grads]
  finite = tf.math.is_finite(loss)
  for g in grads:
    if g is not None:
      finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))
  metrics = {}
  start = 0
  for name, opt in optimizers.items():
    part = grads[start: start + len(opt.variables_)]
    start += len(opt.variables_)
    for key, value in opt.apply(part, finite).items():
      metrics[f'{name}_{key}'] = value
  loss_scale.update(finite)
  metrics['nonfinite'] = 1.0 - tf.cast(finite, tf.float32)
  if loss_scale.enabled:
    metrics['loss_scale'] = tf.identity(loss_scale.scale)
  return metrics
