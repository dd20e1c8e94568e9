"""FLOPs counted from XLA HLO against hand counts: matmuls in loops and their gradients,
strided, transposed and gradient convolutions."""
import tensorflow as tf

from dreamerv2 import hlo_cost


def test_matmul_in_a_scan_and_its_gradient():
  n, b, d = 7, 3, 5
  w = tf.Variable(tf.random.normal([d, d]))

  def fn(x):
    with tf.GradientTape() as tape:
      ys = tf.scan(lambda h, _: tf.matmul(h, w), tf.zeros([n]), x)
      loss = tf.reduce_sum(ys)
    return tape.gradient(loss, w)

  _, cost = hlo_cost.function_flops(fn, tf.ones([b, d]))
  # Forward: n matmuls; backward: n for d loss/d h and n for d loss/d w, each 2 b d d.
  assert cost.by_kind['dot'] == 3 * n * 2 * b * d * d
  assert not cost.unknown_loops
  assert cost.flops == sum(cost.by_kind.values()) and cost.by_kind['elementwise'] > 0


def test_convolutions_count_real_multiply_adds_only():
  b, hw, cin, cout, k = 2, 16, 3, 4, 4
  kernel = tf.Variable(tf.random.normal([k, k, cin, cout]))
  out = (hw - k) // 2 + 1  # 7: valid, stride 2.
  macs = b * out * out * k * k * cin * cout

  flops, _ = hlo_cost.function_flops(lambda x: tf.nn.conv2d(x, kernel, 2, 'VALID'), tf.ones([b, hw, hw, cin]))
  assert flops == 2 * macs

  # The transposed convolution maps the 7x7 output back: same multiply-adds, although
  # XLA writes it as a convolution over an input dilated with zeros.
  up = lambda y: tf.nn.conv2d_transpose(y, kernel, [b, hw, hw, cin], 2, 'VALID')
  _, cost = hlo_cost.function_flops(up, tf.ones([b, out, out, cout]))
  assert cost.by_kind['convolution'] == 2 * macs

  def grads(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      loss = tf.reduce_sum(tf.nn.conv2d(x, kernel, 2, 'VALID'))
    return tape.gradient(loss, [x, kernel])

  _, cost = hlo_cost.function_flops(grads, tf.ones([b, hw, hw, cin]))
  assert cost.by_kind['convolution'] == 3 * 2 * macs  # Forward, input gradient, filter gradient.
