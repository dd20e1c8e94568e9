"""The video-based intrinsic bonus of APV (paper 3.3, appendix E).

r_int = mean distance to the k nearest neighbours of a randomly projected,
window-averaged action-free feature among a FIFO queue of recent ones, normalised
by an EMA of its magnitude. Pure functions for the math, one small module for the
state (projection, queue, EMA), which lives in the checkpoint.
"""
import tensorflow as tf


def window_pool(feat, window):
  """Forward window average over time: s_t = mean(f_t .. f_{t+L-1}).

  feat [B, T, D] -> [B, T - L + 1, D].
  """
  csum = tf.concat([tf.zeros_like(feat[:, :1]), tf.cumsum(feat, axis=1)], 1)
  return (csum[:, window:] - csum[:, :-window]) / float(window)


def knn_mean_distance(query, keys, num_valid, k, exclude_self=False):
  """Mean Euclidean distance from each query to its k nearest valid keys.

  query [n, d]; keys [m, d] of which the first `num_valid` are valid. With
  `exclude_self`, query i is not matched with key i (the queue holds the queries
  at its front). The k nearest are chosen with |a|^2 + |b|^2 - 2ab (memory O(n m),
  never O(n m d)), then their distances are recomputed from the vectors: the cheap
  form cancels near zero (a query's distance to itself comes out ~1e-7, whose root
  ~3e-4 would enter the mean), the recomputed one is exact (0 for itself).
  """
  sq = (tf.reduce_sum(query ** 2, -1)[:, None] + tf.reduce_sum(keys ** 2, -1)[None, :]
        - 2.0 * tf.matmul(query, keys, transpose_b=True))
  n, m = tf.shape(query)[0], tf.shape(keys)[0]
  invalid = tf.range(m)[None, :] >= num_valid
  if exclude_self:
    invalid = tf.logical_or(invalid, tf.equal(tf.range(n)[:, None], tf.range(m)[None, :]))
  sq = tf.where(invalid, tf.constant(float('inf'), sq.dtype), sq)
  index = tf.math.top_k(-sq, k=k, sorted=False).indices  # [n, k]
  diff = query[:, None, :] - tf.gather(keys, index)  # [n, k, d]
  return tf.reduce_mean(tf.sqrt(tf.reduce_sum(diff * diff, -1)), -1)


class IntrinsicBonus(tf.Module):
  """Stateful wrapper: projection W, a FIFO queue (newest first) and the EMA magnitude."""

  def __init__(self, feat_dim, window=5, queue=4096, k=16, proj_dim=128, ema=0.99, exclude_self=False,
               seed=0, name='intr'):
    super().__init__(name)
    self.window, self.k, self.ema, self.exclude_self = window, k, ema, exclude_self
    with self.name_scope:
      init = tf.random.stateless_normal([feat_dim, proj_dim], [seed, 12345], stddev=1.0 / proj_dim)
      self.proj = tf.Variable(init, trainable=False, name='proj')
      self.queue = tf.Variable(tf.zeros([queue, proj_dim]), trainable=False, name='queue')
      self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name='count')
      self.mag = tf.Variable(1.0, trainable=False, name='mag')

  def __call__(self, feat):
    """feat [B, T, D] (gradients stopped here) -> (normalised bonus [B, T - L + 1], metrics)."""
    feat = tf.stop_gradient(tf.cast(feat, tf.float32))
    pooled = window_pool(feat, self.window)
    batch, steps = tf.shape(pooled)[0], tf.shape(pooled)[1]
    proj = tf.reshape(pooled, [-1, pooled.shape[-1]]) @ self.proj
    size = self.queue.shape[0]
    n = tf.shape(proj)[0]
    # Push the batch first, so the search set includes it (as the reference does).
    queue = tf.concat([proj, self.queue], 0)[:size]
    self.queue.assign(queue)
    self.count.assign(tf.minimum(self.count + n, size))
    bonus = knn_mean_distance(proj, queue, self.count, self.k, self.exclude_self)
    self.mag.assign(self.ema * self.mag + (1 - self.ema) * tf.reduce_mean(tf.abs(bonus)))
    normed = bonus / (self.mag + 1e-8)
    metrics = {'intr_mean': tf.reduce_mean(bonus), 'intr_std': tf.math.reduce_std(bonus),
               'intr_normed_mean': tf.reduce_mean(normed), 'intr_normed_std': tf.math.reduce_std(normed),
               'intr_mag': tf.identity(self.mag)}
    return tf.reshape(normed, [batch, steps]), metrics
