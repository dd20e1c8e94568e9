"""Distributions (TensorFlow Probability) and the output heads that produce them."""
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from . import nets

tfd = tfp.distributions


def categorical(logits):
  """Independent one-hot categoricals over the last two axes: [..., stoch, discrete]."""
  return tfd.Independent(tfd.OneHotCategorical(logits=tf.cast(logits, tf.float32), dtype=tf.float32), 1)


def straight_through_sample(logits, seed):
  """One-hot sample whose gradient is that of the probabilities (Bengio et al. 2013)."""
  logits = tf.cast(logits, tf.float32)
  sample = tfd.OneHotCategorical(logits=logits, dtype=tf.float32).sample(seed=seed)
  probs = tf.nn.softmax(logits)
  return sample + probs - tf.stop_gradient(probs)


def mse(mean, event_dims):
  """Unit-variance Normal, independent over the last `event_dims` axes."""
  return tfd.Independent(tfd.Normal(tf.cast(mean, tf.float32), 1.0), event_dims)


def image_nll(mean, image):
  """Negative log-likelihood of uint8 frames under Normal(mean, 1), summed over pixels,
  averaged over the batch dimensions; float32 whatever the compute precision."""
  return -tf.reduce_mean(mse(mean, 3).log_prob(nets.preprocess(image)))


class Action:
  """Truncated normal on [-1, 1] with reparameterised samples (DreamerV2's actor).

  Samples are clipped just inside the bounds with a straight-through gradient so
  that `log_prob` of a sample stays finite.
  """

  def __init__(self, mean, std, clip=1e-6):
    self.mean = tf.tanh(tf.cast(mean, tf.float32))
    self.dist = tfd.Independent(tfd.TruncatedNormal(self.mean, tf.cast(std, tf.float32), -1.0, 1.0), 1)
    self._clip = clip

  def sample(self, seed):
    x = self.dist.sample(seed=seed)
    clipped = tf.clip_by_value(x, -1 + self._clip, 1 - self._clip)
    return x - tf.stop_gradient(x) + tf.stop_gradient(clipped)

  def mode(self):
    return self.mean

  def log_prob(self, x):
    return self.dist.log_prob(x)

  def entropy(self):
    return self.dist.entropy()


class Head(tf.Module):
  """MLP followed by a distribution: `mse` (Normal(mean, 1)), `binary` (Bernoulli)
  or `trunc_normal` (the actor)."""

  def __init__(self, din, shape=(), layers=4, units=400, act='elu', dist='mse', min_std=0.1, name=None):
    super().__init__(name)
    if dist not in ('mse', 'binary', 'trunc_normal'):
      raise ValueError(f"Unknown head distribution '{dist}' (expected mse, binary or trunc_normal).")
    self._shape = tuple(shape)
    self._dist = dist
    self._min_std = min_std
    size = int(np.prod(self._shape))
    with self.name_scope:
      self.mlp = nets.MLP(din, layers, units, act, name='mlp')
      self.out = nets.Dense(self.mlp.dout, size, name='out')
      if dist == 'trunc_normal':
        self.std = nets.Dense(self.mlp.dout, size, name='std')

  def __call__(self, feat):
    x = self.mlp(feat)
    out = tf.cast(self.out(x), tf.float32)
    out = tf.reshape(out, tf.concat([tf.shape(feat)[:-1], self._shape], 0))
    if self._dist == 'mse':
      return mse(out, len(self._shape))
    if self._dist == 'binary':
      return tfd.Independent(tfd.Bernoulli(logits=out, dtype=tf.float32), len(self._shape))
    std = tf.cast(self.std(x), tf.float32)
    std = tf.reshape(std, tf.shape(out))
    return Action(out, 2 * tf.sigmoid(std / 2) + self._min_std)
