"""The shared model report: latent metrics, the open-loop rollout, and the labelled video grid."""
import numpy as np
import pytest

from dreamerv2 import report

B, T, H, W, CONTEXT = 2, 7, 32, 24, 3


def grid_inputs(seed=0):
  rng = np.random.default_rng(seed)
  truth = rng.integers(0, 256, (B, T, H, W, 3), dtype=np.uint8)
  model = rng.uniform(0, 1, (B, T, H, W, 3)).astype(np.float32)
  return truth, model


def test_video_grid_rows_match_truth_model_and_error():
  truth, model = grid_inputs()
  grid = report.video_grid(truth, model, CONTEXT)
  bar, label = grid.shape[1] - 3 * H, grid.shape[2] - B * W
  assert grid.shape[0] == T and grid.shape[3] == 3 and grid.dtype == np.float32
  assert bar >= 2 and grid.shape[1] % 2 == 0 and grid.shape[2] % 2 == 0  # H.264 needs even sides.
  assert label > 0 and 0.0 <= grid.min() and grid.max() <= 1.0
  for b in range(B):
    cols = slice(label + b * W, label + (b + 1) * W)
    np.testing.assert_allclose(grid[:, bar:bar + H, cols], truth[b] / 255.0, atol=1e-6)
    np.testing.assert_allclose(grid[:, bar + H:bar + 2 * H, cols], model[b], atol=1e-6)
    np.testing.assert_allclose(grid[:, bar + 2 * H:, cols], (model[b] - truth[b] / 255.0 + 1) / 2, atol=1e-6)


def test_video_grid_marks_the_end_of_context():
  truth, model = grid_inputs()
  grid = report.video_grid(truth, model, CONTEXT)
  bar = grid[:, :grid.shape[1] - 3 * H]
  for t in range(T):
    color = report.CONTEXT_COLOR if t < CONTEXT else report.PREDICT_COLOR
    np.testing.assert_allclose(bar[t], np.broadcast_to(color, bar[t].shape), atol=1e-6)
  assert not np.allclose(report.CONTEXT_COLOR, report.PREDICT_COLOR)


def test_video_grid_labels_each_row():
  truth, model = grid_inputs()
  grid = report.video_grid(truth, model, CONTEXT)
  bar, label = grid.shape[1] - 3 * H, grid.shape[2] - B * W
  column = grid[:, bar:, :label]
  # Same label in every frame; text drawn in each row, different per row.
  assert np.array_equal(column, np.broadcast_to(column[0], column.shape))
  rows = [column[0, i * H:(i + 1) * H] for i in range(3)]
  assert all(r.max() > 0.5 for r in rows)
  assert not np.array_equal(rows[0], rows[1]) and not np.array_equal(rows[1], rows[2])


def test_video_grid_exact_model_gives_grey_error_and_accepts_gray_frames(tmp_path):
  # Odd sizes too: the grid's sides come out even.
  truth = np.random.default_rng(1).integers(0, 256, (1, T, H + 1, W + 1, 1), dtype=np.uint8)
  grid = report.video_grid(truth, truth / 255.0, 0)
  bar, label = grid.shape[1] - 3 * (H + 1), grid.shape[2] - (W + 1)
  assert grid.shape[-1] == 3 and grid.shape[1] % 2 == 0 and grid.shape[2] % 2 == 0
  from dreamerv2 import logger
  logger.write_video(tmp_path / 'grid.mp4', grid)  # The encoder takes it.
  assert (tmp_path / 'grid.mp4').stat().st_size > 0
  np.testing.assert_allclose(grid[:, bar + 2 * (H + 1):, label:], 0.5, atol=1e-6)
  np.testing.assert_allclose(grid[:, :bar], np.broadcast_to(report.PREDICT_COLOR, grid[:, :bar].shape), atol=1e-6)


def test_video_grid_rejects_mismatched_shapes():
  truth, model = grid_inputs()
  with pytest.raises(ValueError, match=r'must both be \[B, T, H, W, C\]'):
    report.video_grid(truth, model[:, :-1], CONTEXT)


def test_openloop_observes_context_then_rolls_out():
  import tensorflow as tf
  post = {'deter': tf.reshape(tf.range(B * CONTEXT, dtype=tf.float32), (B, CONTEXT, 1))}
  calls = {}

  def observe(n):
    calls['observe'] = n
    return post

  def rollout(last):
    calls['last'] = last['deter'].numpy()
    return {'deter': tf.fill((B, T - CONTEXT, 1), -1.0)}

  decode = lambda state: tf.broadcast_to(state['deter'][..., None, None], state['deter'].shape[:2] + (H, W, 3))
  frames = report.openloop(observe, rollout, decode, CONTEXT).numpy()
  assert calls['observe'] == CONTEXT
  np.testing.assert_array_equal(calls['last'], post['deter'].numpy()[:, -1])
  assert frames.shape == (B, T, H, W, 3)
  np.testing.assert_array_equal(frames[:, :CONTEXT, 0, 0, 0], post['deter'].numpy()[..., 0] + 0.5)
  np.testing.assert_array_equal(frames[:, CONTEXT:], -0.5)


def test_latent_metrics_against_numpy():
  import tensorflow as tf
  rng = np.random.default_rng(2)
  post, prior = (rng.normal(size=(B, T, 4, 5)).astype(np.float32) for _ in range(2))
  kl = rng.uniform(size=(B, T)).astype(np.float32)

  def entropy(logits):
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return -(p * np.log(p)).sum((-1, -2)).mean()

  metrics = report.latent_metrics({'logit': tf.constant(post)}, {'logit': tf.constant(prior)}, tf.constant(kl))
  assert set(metrics) == {'model_kl', 'post_ent', 'prior_ent'}
  np.testing.assert_allclose(metrics['model_kl'], kl.mean(), rtol=1e-6)
  np.testing.assert_allclose(metrics['post_ent'], entropy(post), rtol=1e-5)
  np.testing.assert_allclose(metrics['prior_ent'], entropy(prior), rtol=1e-5)


def test_video_model_and_world_model_share_the_report():
  """Both models' report() is the shared grid, with the truth row holding the input frames."""
  import tensorflow as tf
  from apv_ext import config as apv_config
  from apv_ext import video_model
  from dreamerv2 import agent as agent_lib
  from dreamerv2 import config as config_lib
  rng = np.random.default_rng(3)
  image = rng.integers(0, 256, (3, 12, 64, 64, 3), dtype=np.uint8)
  is_first = np.zeros((3, 12), bool)
  is_first[:, 0] = True
  data = {'image': tf.constant(image), 'is_first': tf.constant(is_first),
          'action': tf.zeros((3, 12, 2)), 'reward': tf.zeros((3, 12)),
          'is_last': tf.zeros((3, 12), bool), 'is_terminal': tf.zeros((3, 12), bool)}
  models = [(video_model.VideoModel(apv_config.parse(['--configs', 'metaworld_pretrain', 'debug'])), {
                k: data[k] for k in ('image', 'is_first')}),
            (agent_lib.Agent(config_lib.parse(['--configs', 'debug']), 2), data)]
  for model, inputs in models:
    config = model.config
    grid = model.report(inputs)
    bar, label = grid.shape[1] - 3 * 64, grid.shape[2] - config.report_batch * 64
    assert grid.shape[0] == 12 and bar >= 2 and label > 0 and grid.shape[2] % 2 == 0
    np.testing.assert_allclose(grid[:, bar:bar + 64, label:label + 64], image[0] / 255.0, atol=1e-6)
    np.testing.assert_allclose(grid[config.report_context - 1, 0, 0], report.CONTEXT_COLOR, atol=1e-6)
    np.testing.assert_allclose(grid[config.report_context, 0, 0], report.PREDICT_COLOR, atol=1e-6)
