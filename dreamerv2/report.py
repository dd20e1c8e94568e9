"""What a latent model reports: its latent statistics and the open-loop prediction video.

Shared by the DreamerV2 world model and APV's action-free video model, which differ
only in how they observe the context and roll out beyond it. `latent_metrics` and
`openloop` run in TensorFlow (inside the models' tf.functions); `video_grid` lays the
result out in numpy, with labelled rows and a marker where the context ends.
"""
import functools

import numpy as np

# Bar above each frame: observed context frames vs frames predicted open-loop.
CONTEXT_COLOR = (0.1, 0.7, 0.2)
PREDICT_COLOR = (0.85, 0.15, 0.1)
ROWS = ('true', 'model', 'error')


def latent_metrics(post, prior, kl_value):
  """Mean KL (after free nats, before balancing) and the posterior and prior entropies."""
  import tensorflow as tf
  from . import dists
  return {'model_kl': tf.reduce_mean(kl_value),
          'prior_ent': tf.reduce_mean(dists.categorical(prior['logit']).entropy()),
          'post_ent': tf.reduce_mean(dists.categorical(post['logit']).entropy())}


def openloop(observe, rollout, decode, context):
  """The model's frames: reconstructions of the first `context` frames, then a prior rollout.

  observe(context) -> posterior states [B, context, ...] of the observed frames;
  rollout(last_state) -> prior states [B, T - context, ...] from the last posterior;
  decode(states) -> image means (centred at 0). Returns [B, T, H, W, C] float in ~[0, 1].
  """
  import tensorflow as tf
  post = observe(context)
  last = {k: v[:, -1] for k, v in post.items()}
  prior = rollout(last)
  return tf.concat([decode(post), decode(prior)], 1) + 0.5


def video_grid(truth, model, context):
  """Truth | model | error rows of a few sequences, labelled, with the context marked.

  truth: [B, T, H, W, C] uint8; model: [B, T, H, W, C] float in [0, 1] (frames before
  `context` are reconstructions, the rest open-loop predictions). Returns
  [T, bar + 3H, label + B*W, 3] float32 in [0, 1], both sides even: a bar on top of every frame is green
  while the model observes (t < context) and red once it predicts; a column on the
  left names the rows; error is (model - truth + 1) / 2, so grey means exact.
  """
  truth = np.asarray(truth, np.float32) / 255.0
  model = np.clip(np.asarray(model, np.float32), 0.0, 1.0)
  if truth.shape != model.shape or truth.ndim != 5:
    raise ValueError(f'video_grid: truth {truth.shape} and model {model.shape} must both be [B, T, H, W, C].')
  if truth.shape[-1] == 1:
    truth, model = np.repeat(truth, 3, -1), np.repeat(model, 3, -1)
  batch, length, height, width, _ = truth.shape
  error = (model - truth + 1) / 2
  rows = np.concatenate([truth, model, error], 2)  # [B, T, 3H, W, 3]
  rows = rows.transpose(1, 2, 0, 3, 4).reshape(length, 3 * height, batch * width, 3)
  labels = np.concatenate([_text(name, height) for name in ROWS], 0)  # [3H, L, 3]
  # Even sides: H.264 encoders refuse odd frame sizes.
  labels = np.pad(labels, ((0, 0), (0, (labels.shape[1] + batch * width) % 2), (0, 0)))
  rows = np.concatenate([np.broadcast_to(labels, (length,) + labels.shape), rows], 2)
  bar_height = max(2, height // 16)
  bar = np.zeros((length, bar_height + (bar_height + 3 * height) % 2, rows.shape[2], 3), np.float32)
  observed = np.arange(length) < context
  bar[observed] = CONTEXT_COLOR
  bar[~observed] = PREDICT_COLOR
  return np.concatenate([bar, rows], 1)


@functools.lru_cache(maxsize=None)
def _text(text, height):
  """White text on black, [height, width, 3] float32, width from the longest row label."""
  from PIL import Image, ImageDraw, ImageFont
  font = ImageFont.load_default(size=max(8, height // 6))
  width = max(int(np.ceil(font.getlength(name))) for name in ROWS) + 4
  image = Image.new('L', (width, height))
  ImageDraw.Draw(image).text((2, height / 2), text, fill=255, font=font, anchor='lm')
  return np.repeat(np.asarray(image, np.float32)[..., None] / 255.0, 3, -1)
