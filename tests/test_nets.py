"""Shapes of the encoder, decoder and RSSM, and RSSM resets at is_first."""
import numpy as np
import tensorflow as tf

from dreamerv2 import nets, rssm


def test_encoder_decoder_shapes():
  enc = nets.Encoder(depth=4)
  assert enc.embed_dim == 2 * 2 * 32
  image = tf.constant(np.random.randint(0, 255, (2, 3, 64, 64, 3)), tf.uint8)
  embed = enc(image)
  assert embed.shape == (2, 3, 128)
  dec = nets.Decoder(feat_dim=10, depth=4)
  assert dec(tf.zeros((2, 3, 10))).shape == (2, 3, 64, 64, 3)
  assert nets.Encoder(depth=48).embed_dim == 1536


def test_rssm_observe_imagine_shapes():
  model = rssm.RSSM(embed_dim=7, action_dim=2, deter=8, hidden=6, stoch=3, discrete=4)
  B, T = 2, 5
  seeds = tf.zeros((T, 2), tf.int32) + tf.range(T)[:, None]
  post, prior = model.observe(tf.random.normal((B, T, 7)), tf.random.normal((B, T, 2)), tf.zeros((B, T), bool), seeds)
  assert post['deter'].shape == (B, T, 8) and post['stoch'].shape == (B, T, 3, 4)
  assert prior['logit'].shape == (B, T, 3, 4)
  assert model.get_feat(post).shape == (B, T, 3 * 4 + 8)
  last = {k: v[:, -1] for k, v in post.items()}
  imagined = model.imagine(tf.random.normal((B, 4, 2)), last, seeds[:4])
  assert imagined['deter'].shape == (B, 4, 8) and imagined['stoch'].shape == (B, 4, 3, 4)


def test_rssm_resets_state_at_is_first():
  model = rssm.RSSM(embed_dim=7, action_dim=2, deter=8, hidden=6, stoch=3, discrete=4)
  embed = tf.random.normal((1, 7))
  action = tf.random.normal((1, 2))
  seed = tf.constant([3, 4])
  fresh = model.obs_step(model.initial(1), tf.zeros((1, 2)), embed, tf.constant([False]), seed)
  garbage = {k: tf.random.normal(v.shape) for k, v in model.initial(1).items()}
  reset = model.obs_step(garbage, action, embed, tf.constant([True]), seed)
  kept = model.obs_step(garbage, action, embed, tf.constant([False]), seed)
  np.testing.assert_allclose(reset['deter'].numpy(), fresh['deter'].numpy(), atol=1e-6)
  np.testing.assert_allclose(reset['logit'].numpy(), fresh['logit'].numpy(), atol=1e-5)
  assert not np.allclose(kept['deter'].numpy(), fresh['deter'].numpy())


def test_conv_transpose_matches_tf_op_including_1x1_matmul_path():
  for size in (1, 5):
    layer = nets.ConvTranspose2D(6, 4, 5)
    x = tf.random.normal((3, size, size, 6))
    out_shape = [3, (size - 1) * 2 + 5, (size - 1) * 2 + 5, 4]
    ref = tf.nn.conv2d_transpose(x, layer.kernel, out_shape, 2, 'VALID') + layer.bias
    np.testing.assert_allclose(layer(x).numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_pretransposed_dense_gives_identical_values_and_gradients():
  layer = nets.Dense(5, 3)
  x = tf.random.normal((4, 5))
  def run(pre):
    with tf.GradientTape() as tape:
      tape.watch(x)
      if pre:
        with nets.pretransposed(layer):
          y = layer(x)
      else:
        y = layer(x)
      loss = tf.reduce_sum(tf.sin(y))
    return [y] + tape.gradient(loss, [x, layer.kernel, layer.bias])
  for a, b in zip(run(False), run(True)):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
  assert layer._kernel_t is None


def test_observe_gradients_equal_an_unrolled_loop():
  """observe's scan takes its loop kernels' gradients after the loop (LoopKernelGrads):
  values and gradients must equal obs_step unrolled in Python."""
  from dreamerv2 import rssm as rssm_lib
  model = rssm_lib.RSSM(embed_dim=7, action_dim=2, deter=8, hidden=6, stoch=3, discrete=4)
  b, t = 3, 6
  rng = np.random.default_rng(0)
  embed = tf.constant(rng.normal(size=(b, t, 7)).astype(np.float32))
  action = tf.constant(rng.uniform(-1, 1, (b, t, 2)).astype(np.float32))
  is_first = tf.constant(np.eye(b, t, dtype=bool) | (np.arange(t) == 0)[None])
  seeds = tf.reshape(tf.range(t * 2), [t, 2])
  weights = tf.constant(rng.normal(size=(b, t, 3, 4)).astype(np.float32))

  def loss_of(post):
    prior = model.prior_logit(post['deter'])
    return tf.reduce_sum(tf.sin(post['logit']) * weights) + tf.reduce_sum(post['stoch'] * weights) + \
        tf.reduce_sum(tf.cos(post['deter'])) + tf.reduce_sum(tf.sin(prior) * weights)

  def scanned():
    with tf.GradientTape() as tape:
      post, _ = model.observe(embed, action, is_first, seeds)  # Its prior: prior_logit, as below.
      loss = loss_of(post)
    return loss, tape.gradient(loss, model.trainable_variables)

  def unrolled():
    with tf.GradientTape() as tape:
      state, posts = model.initial(b), []
      for i in range(t):
        state = model.obs_step(state, action[:, i], embed[:, i], is_first[:, i], seeds[i])
        posts.append(state)
      post = {k: tf.stack([p[k] for p in posts], 1) for k in posts[0]}
      loss = loss_of(post)
    return loss, tape.gradient(loss, model.trainable_variables)

  for run in (scanned, tf.function(scanned)):
    (loss_a, grads_a), (loss_b, grads_b) = run(), unrolled()
    np.testing.assert_allclose(loss_a.numpy(), loss_b.numpy(), rtol=1e-6)
    for var, a, b_ in zip(model.trainable_variables, grads_a, grads_b):
      assert a is not None, var.name
      np.testing.assert_allclose(a.numpy(), b_.numpy(), rtol=1e-5, atol=1e-6, err_msg=var.name)
