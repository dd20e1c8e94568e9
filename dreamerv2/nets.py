"""Neural network building blocks: dense/conv layers, MLP, GRU cell, encoder, decoder.

Plain `tf.Module` code rather than Keras layers: every variable is created eagerly
in the constructor (input sizes are known), so checkpoints are keyed by attribute
path (`encoder/convs/0/kernel`) and never depend on creation order or on a first
call; mixed precision is a cast at the matmul, controlled in one place.
"""
import contextlib

import numpy as np
import tensorflow as tf

from . import precision


def get_act(name):
  if name == 'none':
    return tf.identity
  if name == 'elu':
    return tf.nn.elu
  if name == 'relu':
    return tf.nn.relu
  if name == 'tanh':
    return tf.tanh
  raise ValueError(f"Unknown activation '{name}' (expected none, elu, relu or tanh).")


def _glorot(shape, fan_in, fan_out):
  limit = np.sqrt(6.0 / (fan_in + fan_out))
  return tf.random.uniform(shape, -limit, limit, tf.float32)


@tf.custom_gradient
def _matmul_pretransposed(x, kernel, kernel_t):
  """x @ kernel whose input gradient uses a transpose computed once, outside the loop."""
  def grad(dy):
    return dy @ kernel_t, tf.matmul(x, dy, transpose_a=True), None
  return x @ kernel, grad


@contextlib.contextmanager
def pretransposed(*modules):
  """Speeds up backprop through time for the Dense layers of `modules`.

  TF's gradient of `x @ W` is `dy @ W^T` as MatMul(transpose_b=True), which on this
  CPU is ~3x slower than multiplying by a stored transpose for small batches
  (16-50 rows: the RSSM's observe loop). Inside this context each layer reuses one
  transpose made before the loop; Grappler cannot fold it back across the loop
  boundary. Values and gradients are unchanged.
  """
  layers = [m for module in modules for m in module.submodules if isinstance(m, Dense)]
  for layer in layers:
    layer._kernel_t = tf.transpose(tf.cast(layer.kernel, precision.compute_dtype()))
  try:
    yield
  finally:
    for layer in layers:
      layer._kernel_t = None


@tf.custom_gradient
def _matmul_input_grad(x, kernel, kernel_t):
  """x @ kernel whose gradient reaches x only; the kernel's is LoopKernelGrads'."""
  def grad(dy):
    return dy @ kernel_t, None, None
  return x @ kernel, grad


class LoopKernelGrads:
  """Kernel gradients of Dense layers called once per step of a tf.scan, as one
  matmul after the loop instead of one per step.

  Backprop through a loop otherwise computes x_t^T dy_t at every step (K = batch
  rows: 16-50 in the RSSM's observe loop, far from the matmul peak) and adds it
  into a kernel-sized accumulator (AddN over megabytes per step). Here each layer
  adds a zero z_t fed to the loop as an input, whose gradient TF stacks as
  dY [T, B, out]; the loop also stacks its inputs X [T, B, in]; the kernel gets
  X^T dY in one matmul. Values are unchanged; the kernel gradient is the same sum
  in another order. Use inside `pretransposed` (the input gradient's transpose).

  In the step function: `with loop.step(zs): ...` and return `loop.recorded()` as
  part of the carried state (initially `loop.initial()`); after the loop,
  `loop.set_inputs(stacked)`.
  """

  def __init__(self, layers, steps, batch):
    self.layers = list(layers)
    self._steps, self._batch = steps, batch
    self._inputs = None
    dtype = precision.compute_dtype()
    self.zeros = [self._attach(tf.cast(layer.kernel, dtype), layer, i) for i, layer in enumerate(self.layers)]

  def _attach(self, kernel, layer, index):
    @tf.custom_gradient
    def zeros(kernel):
      def grad(dz):
        x = tf.reshape(self._inputs[index], [-1, layer.din])
        return tf.matmul(x, tf.reshape(dz, [-1, layer.dout]), transpose_a=True)
      return tf.zeros([self._steps, self._batch, layer.dout], kernel.dtype), grad
    return zeros(kernel)

  def initial(self):
    dtype = precision.compute_dtype()
    return [tf.zeros([self._batch, layer.din], dtype) for layer in self.layers]

  @contextlib.contextmanager
  def step(self, zs):
    for layer, z in zip(self.layers, zs):
      layer._loop_z, layer._loop_x = z, None
    try:
      yield
    finally:
      for layer in self.layers:
        layer._loop_z = None

  def recorded(self):
    inputs = [layer._loop_x for layer in self.layers]
    assert all(x is not None for x in inputs), 'every layer must be called once per step'
    for layer in self.layers:
      layer._loop_x = None
    return inputs

  def set_inputs(self, stacked):
    """stacked: per layer, its inputs of every step [T, B, in]."""
    self._inputs = list(stacked)


def preprocess(image):
  """uint8 frames -> float32 in [-0.5, 0.5], as the encoder sees them and the decoder predicts them."""
  return tf.cast(image, tf.float32) / 255.0 - 0.5


class Dense(tf.Module):

  def __init__(self, din, dout, act='none', name=None):
    super().__init__(name)
    with self.name_scope:
      self.kernel = tf.Variable(_glorot((din, dout), din, dout), name='kernel')
      self.bias = tf.Variable(tf.zeros((dout,)), name='bias')
    self.din, self.dout = din, dout
    self._act = get_act(act)
    self._kernel_t = None
    self._loop_z = self._loop_x = None

  def __call__(self, x):
    dtype = precision.compute_dtype()
    x = tf.cast(x, dtype)
    shape = tf.shape(x)
    flat = tf.reshape(x, [-1, self.din])
    kernel = tf.cast(self.kernel, dtype)
    if self._loop_z is not None:
      out = _matmul_input_grad(flat, kernel, self._kernel_t) + self._loop_z
      self._loop_x = flat
    elif self._kernel_t is not None:
      out = _matmul_pretransposed(flat, kernel, self._kernel_t)
    else:
      out = flat @ kernel
    out = out + tf.cast(self.bias, dtype)
    out = tf.reshape(out, tf.concat([shape[:-1], [self.dout]], 0))
    return self._act(out)


class LayerNorm(tf.Module):
  """Layer norm over the last axis, computed in float32 for stability."""

  def __init__(self, dim, eps=1e-3, name=None):
    super().__init__(name)
    with self.name_scope:
      self.scale = tf.Variable(tf.ones((dim,)), name='scale')
      self.offset = tf.Variable(tf.zeros((dim,)), name='offset')
    self._eps = eps

  def __call__(self, x):
    dtype = x.dtype
    x = tf.cast(x, tf.float32)
    mean, var = tf.nn.moments(x, [-1], keepdims=True)
    x = (x - mean) * tf.math.rsqrt(var + self._eps) * self.scale + self.offset
    return tf.cast(x, dtype)


class MLP(tf.Module):
  """`layers` hidden Dense layers of `units` with activation `act`."""

  def __init__(self, din, layers, units, act='elu', name=None):
    super().__init__(name)
    with self.name_scope:
      dims = [din] + [units] * layers
      self.layers = [Dense(a, b, act, name=f'h{i}') for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))]
    self.dout = dims[-1]

  def __call__(self, x):
    for layer in self.layers:
      x = layer(x)
    return x


class GRUCell(tf.Module):
  """Layer-normalised GRU of DreamerV2.

  parts = LN(Dense(3D)([x; h])); reset, cand, update = split(parts)
  cand = tanh(sigmoid(reset) * cand); update = sigmoid(update - 1)
  h' = update * cand + (1 - update) * h
  The -1 bias on the update gate makes the cell keep its state by default.
  """

  def __init__(self, din, size, name=None):
    super().__init__(name)
    with self.name_scope:
      self.dense = Dense(din + size, 3 * size, name='dense')
      self.norm = LayerNorm(3 * size, name='norm')
    self.size = size

  def __call__(self, x, h):
    parts = self.norm(self.dense(tf.concat([tf.cast(x, h.dtype), h], -1)))
    reset, cand, update = tf.split(parts, 3, -1)
    cand = tf.tanh(tf.sigmoid(reset) * cand)
    update = tf.sigmoid(update - 1)
    return update * cand + (1 - update) * tf.cast(h, update.dtype)


class _Conv(tf.Module):
  """Kernel and bias of a square 2-D convolution; `shape` orders the kernel's axes."""

  def __init__(self, shape, din, dout, kernel, stride, act, name):
    super().__init__(name)
    with self.name_scope:
      fan_in, fan_out = kernel * kernel * din, kernel * kernel * dout
      self.kernel = tf.Variable(_glorot(shape, fan_in, fan_out), name='kernel')
      self.bias = tf.Variable(tf.zeros((dout,)), name='bias')
    self._k, self._stride, self._dout = kernel, stride, dout
    self._act = get_act(act)


class Conv2D(_Conv):

  def __init__(self, din, dout, kernel, stride=2, act='none', name=None):
    super().__init__((kernel, kernel, din, dout), din, dout, kernel, stride, act, name)

  def __call__(self, x):
    dtype = precision.compute_dtype()
    x = tf.nn.conv2d(tf.cast(x, dtype), tf.cast(self.kernel, dtype), self._stride, 'VALID')
    return self._act(x + tf.cast(self.bias, dtype))


class ConvTranspose2D(_Conv):

  def __init__(self, din, dout, kernel, stride=2, act='none', name=None):
    super().__init__((kernel, kernel, dout, din), din, dout, kernel, stride, act, name)

  def __call__(self, x):
    dtype = precision.compute_dtype()
    batch, height, width = tf.shape(x)[0], x.shape[1], x.shape[2]
    if (height, width) == (1, 1):
      # From a 1x1 input the transposed conv is one matmul, and TF's CPU kernel for
      # it is ~8x slower than the matmul (the decoder's first layer).
      din = self.kernel.shape[3]
      kernel = tf.reshape(tf.transpose(tf.cast(self.kernel, dtype), [3, 0, 1, 2]), [din, -1])
      x = tf.reshape(tf.reshape(tf.cast(x, dtype), [-1, din]) @ kernel, [-1, self._k, self._k, self._dout])
      return self._act(x + tf.cast(self.bias, dtype))
    out_shape = [batch, (height - 1) * self._stride + self._k, (width - 1) * self._stride + self._k, self._dout]
    x = tf.nn.conv2d_transpose(
        tf.cast(x, dtype), tf.cast(self.kernel, dtype), out_shape, self._stride, 'VALID')
    return self._act(x + tf.cast(self.bias, dtype))


class Encoder(tf.Module):
  """64x64x3 uint8 images -> flat embedding. 64 -> 31 -> 14 -> 6 -> 2 spatially."""

  def __init__(self, depth=48, kernels=(4, 4, 4, 4), act='elu', image_size=64, name='encoder'):
    super().__init__(name)
    if image_size != 64:
      raise ValueError(f'Encoder expects 64x64 images, got image size {image_size}.')
    with self.name_scope:
      dims = [3] + [depth * 2 ** i for i in range(len(kernels))]
      self.convs = [Conv2D(a, b, k, 2, act, name=f'conv{i}')
                    for i, (a, b, k) in enumerate(zip(dims[:-1], dims[1:], kernels))]
    size = image_size
    for k in kernels:
      size = (size - k) // 2 + 1
    self.embed_dim = size * size * dims[-1]

  def __call__(self, image):
    """image: [..., 64, 64, 3] uint8 -> [..., embed_dim] in the compute dtype."""
    batch_shape = tf.shape(image)[:-3]
    x = tf.reshape(image, tf.concat([[-1], tf.shape(image)[-3:]], 0))
    x = preprocess(x)
    for conv in self.convs:
      x = conv(x)
    x = tf.reshape(x, [-1, self.embed_dim])
    return tf.reshape(x, tf.concat([batch_shape, [self.embed_dim]], 0))


class Decoder(tf.Module):
  """Feature -> mean image in [-0.5, 0.5]. 1 -> 5 -> 13 -> 30 -> 64 spatially."""

  def __init__(self, feat_dim, depth=48, kernels=(5, 5, 6, 6), act='elu', name='decoder'):
    super().__init__(name)
    with self.name_scope:
      self.project = Dense(feat_dim, 32 * depth, name='project')
      dims = [32 * depth] + [depth * 2 ** i for i in reversed(range(len(kernels) - 1))] + [3]
      acts = [act] * (len(kernels) - 1) + ['none']
      self.convs = [ConvTranspose2D(a, b, k, 2, f, name=f'deconv{i}')
                    for i, (a, b, k, f) in enumerate(zip(dims[:-1], dims[1:], kernels, acts))]
    self._depth = depth

  def __call__(self, feat):
    """feat: [..., feat_dim] -> float32 image mean [..., 64, 64, 3]."""
    batch_shape = tf.shape(feat)[:-1]
    x = self.project(feat)
    x = tf.reshape(x, [-1, 1, 1, 32 * self._depth])
    for conv in self.convs:
      x = conv(x)
    return tf.cast(tf.reshape(x, tf.concat([batch_shape, tf.shape(x)[1:]], 0)), tf.float32)
