"""The video-based intrinsic bonus against a naive numpy implementation."""
import numpy as np
import tensorflow as tf

from apv_ext import intrinsic


def naive_pool(feat, window):
  b, t, d = feat.shape
  out = np.zeros((b, t - window + 1, d))
  for i in range(b):
    for j in range(t - window + 1):
      out[i, j] = feat[i, j: j + window].mean(0)
  return out


def naive_knn(query, keys, k, exclude_self=False):
  out = np.zeros(len(query))
  for i, q in enumerate(query):
    dists = [np.sqrt(((q - key) ** 2).sum()) for j, key in enumerate(keys) if not (exclude_self and i == j)]
    out[i] = np.mean(sorted(dists)[:k])
  return out


class NaiveBonus:
  """Steps 1-6 of the spec with Python lists."""

  def __init__(self, proj, window, size, k, ema, exclude_self):
    self.proj, self.window, self.size, self.k, self.ema, self.exclude_self = proj, window, size, k, ema, exclude_self
    self.queue = []  # Newest first.
    self.mag = 1.0

  def __call__(self, feat):
    pooled = naive_pool(feat, self.window)
    b, t, _ = pooled.shape
    proj = pooled.reshape(b * t, -1) @ self.proj
    self.queue = (list(proj) + self.queue)[:self.size]
    bonus = naive_knn(proj, np.array(self.queue), self.k, self.exclude_self)
    self.mag = self.ema * self.mag + (1 - self.ema) * np.abs(bonus).mean()
    return (bonus / (self.mag + 1e-8)).reshape(b, t)


def test_window_pool():
  feat = np.random.default_rng(0).normal(size=(3, 9, 4)).astype(np.float32)
  for window in (1, 3, 5):
    np.testing.assert_allclose(intrinsic.window_pool(tf.constant(feat), window).numpy(), naive_pool(feat, window),
                               rtol=1e-5, atol=1e-5)


def test_knn_mean_distance_with_and_without_self():
  rng = np.random.default_rng(1)
  query = rng.normal(size=(6, 5)).astype(np.float32)
  keys = np.concatenate([query, rng.normal(size=(10, 5)).astype(np.float32)])
  for exclude in (False, True):
    got = intrinsic.knn_mean_distance(tf.constant(query), tf.constant(keys), 16, 4, exclude).numpy()
    np.testing.assert_allclose(got, naive_knn(query.astype(np.float64), keys.astype(np.float64), 4, exclude),
                               rtol=1e-6)
  # Only the first num_valid keys count.
  got = intrinsic.knn_mean_distance(tf.constant(query), tf.constant(keys), 8, 2).numpy()
  np.testing.assert_allclose(got, naive_knn(query.astype(np.float64), keys[:8].astype(np.float64), 2), rtol=1e-6)


def test_self_distance_is_exactly_zero():
  # Large norms make |a|^2 + |b|^2 - 2ab cancel badly; the nearest key is the query itself.
  query = (np.random.default_rng(3).normal(size=(64, 128)) * 30.0).astype(np.float32)
  got = intrinsic.knn_mean_distance(tf.constant(query), tf.constant(query), 64, 1).numpy()
  np.testing.assert_array_equal(got, np.zeros(64, np.float32))


def test_knn_matches_float64_at_the_papers_sizes():
  """Projected features as in fine-tuning (batch 50 x 46 windows, queue 4096, d 128,
  k 16): the queue holds the batch at its front, so every query meets itself."""
  rng = np.random.default_rng(4)
  feat = rng.normal(size=(4096, 2048)).astype(np.float32)
  proj = rng.normal(size=(2048, 128)).astype(np.float32) / 128
  keys = feat @ proj  # Neighbours at realistic relative spacing.
  query = keys[:2300]
  got = intrinsic.knn_mean_distance(tf.constant(query), tf.constant(keys), 4096, 16).numpy()
  q64, k64 = query.astype(np.float64), keys.astype(np.float64)
  sq = (q64 ** 2).sum(-1)[:, None] + (k64 ** 2).sum(-1)[None] - 2 * q64 @ k64.T
  nearest = np.argsort(sq, -1)[:, :16]
  want = np.sqrt(((q64[:, None] - k64[nearest]) ** 2).sum(-1)).mean(-1)
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_bonus_matches_naive_over_batches_with_queue_wraparound():
  rng = np.random.default_rng(2)
  for exclude in (False, True):
    bonus = intrinsic.IntrinsicBonus(feat_dim=6, window=3, queue=20, k=4, proj_dim=3, ema=0.9, exclude_self=exclude)
    naive = NaiveBonus(bonus.proj.numpy().astype(np.float64), 3, 20, 4, 0.9, exclude)
    for step in range(5):  # 2 x 4 = 8 vectors per batch: the queue of 20 wraps on the third.
      feat = rng.normal(size=(2, 6, 6)).astype(np.float32)
      got, metrics = bonus(tf.constant(feat))
      want = naive(feat.astype(np.float64))
      np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
      np.testing.assert_allclose(bonus.mag.numpy(), naive.mag, rtol=1e-5)
      assert bonus.count.numpy() == min(8 * (step + 1), 20)
      np.testing.assert_allclose(bonus.queue.numpy()[:bonus.count.numpy()], np.array(naive.queue), rtol=1e-5, atol=1e-5)
      np.testing.assert_allclose(metrics['intr_normed_mean'].numpy(), want.mean(), rtol=1e-4)


def test_projection_statistics():
  bonus = intrinsic.IntrinsicBonus(feat_dim=2048, proj_dim=128, queue=8, k=2)
  assert abs(bonus.proj.numpy().std() - 1 / 128) < 1e-4
  assert not bonus.proj.trainable
