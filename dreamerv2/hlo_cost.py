"""FLOPs of a TensorFlow function, counted from its XLA HLO.

TF exposes no XLA cost analysis in Python, so this counts the HLO text of
`tf.function(fn, jit_compile=True).experimental_get_compiler_ir(*args)(stage='hlo')`
(XLA's input, before fusion) the way XLA's HloCostAnalysis does:
  dot          2 x output elements x contracted size
  convolution  2 x output elements x input features per group x the (output, window)
               pairs that land on real input elements, per spatial dimension
               (zeros inserted by lhs dilation or padding are not counted)
  elementwise  1 per output element (arithmetic, comparisons, selects, transcendentals)
  reduce       1 per input element
A while loop's body counts once per iteration. TF's loops (tf.scan, their gradients)
carry TensorList buffers `(T[n, ...], s32[])` whose leading dimension is the trip
count; a loop without them is counted once and named in `unknown_loops`.
Nothing is compiled or run: only the unoptimised HLO is built.
"""
import collections
import math
import re

ELEMENTWISE = frozenset('''
    abs add and atan2 cbrt ceil clamp compare cosine divide exponential exponential-minus-one floor
    is-finite log log-plus-one logistic maximum minimum multiply negate not or power remainder
    round-nearest-afz round-nearest-even rsqrt select sign sine sqrt subtract tan tanh xor erf
'''.split())

_INSTR = re.compile(r'^\s*(?:ROOT )?%(\S+) = (.*?) ([a-z][a-z0-9-]*)\((.*)$')
_ARRAY = re.compile(r'([a-z][a-z0-9]*)\[([0-9,]*)\]')
_LOOP_BUFFER = re.compile(r'\([a-z][a-z0-9]*\[(\d+)[0-9,]*\](?:\{[^}]*\})?, s32\[\]\)')


def _dims(shape):
  match = _ARRAY.search(shape)
  return [int(d) for d in match.group(2).split(',') if d] if match else []


def _operand_shapes(rest):
  """Shapes of the operands `T[dims]{layout} %name, ...` up to the closing parenthesis."""
  depth, end = 1, 0
  for end, char in enumerate(rest):
    depth += {'(': 1, ')': -1}.get(char, 0)
    if depth == 0:
      break
  return [_dims(m.group(0)) for m in _ARRAY.finditer(rest[:end])], rest[end + 1:]


def _attr(attrs, name):
  match = re.search(name + r'=\{([^}]*)\}', attrs)
  return [int(x) for x in match.group(1).split(',') if x] if match else []


def _window(attrs, rank):
  """Per spatial dimension: size, stride, pad (lo, hi), lhs and rhs dilation."""
  match = re.search(r'window=\{([^}]*)\}', attrs)
  fields = dict(item.split('=') for item in match.group(1).split()) if match else {}
  split = lambda key, default: [x for x in fields.get(key, '').split('x') if x] or [default] * rank
  pads = [tuple(int(v) for v in p.split('_')) for p in split('pad', '0_0')]
  return ([int(x) for x in split('size', '1')], [int(x) for x in split('stride', '1')], pads,
          [int(x) for x in split('lhs_dilate', '1')], [int(x) for x in split('rhs_dilate', '1')])


def _valid_pairs(size_in, size_out, window, stride, pad_lo, lhs_dilate, rhs_dilate):
  """(output, window) position pairs that read a real (not dilated-in, not padded) input element."""
  last = (size_in - 1) * lhs_dilate
  count = 0
  for k in range(window):
    for o in range(size_out):
      pos = o * stride + k * rhs_dilate - pad_lo
      if 0 <= pos <= last and pos % lhs_dilate == 0:
        count += 1
  return count


def _conv_flops(out, lhs, rhs, attrs):
  labels = re.search(r'dim_labels=(\S+?)_(\S+?)->([^,\s]+)', attrs)
  lhs_labels, _, out_labels = labels.groups()
  spatial = sorted(c for c in lhs_labels if c.isdigit())
  size, stride, pads, lhs_dil, rhs_dil = _window(attrs, len(spatial))
  count = lambda key: int(re.search(key + r'=(\d+)', attrs).group(1)) if key + '=' in attrs else 1
  groups, batch_groups = count('feature_group_count'), count('batch_group_count')
  pairs = 1
  for i, s in enumerate(spatial):
    pairs *= _valid_pairs(lhs[lhs_labels.index(s)], out[out_labels.index(s)], size[i], stride[i], pads[i][0],
                          lhs_dil[i], rhs_dil[i])
  non_spatial_out = out[out_labels.index('b')] * out[out_labels.index('f')]
  in_features = lhs[lhs_labels.index('f')] // groups
  return 2 * non_spatial_out * pairs * in_features // batch_groups


def _parse(text):
  """{computation name: [instruction lines]} and the entry computation's name."""
  comps, entry, name = {}, None, None
  for line in text.splitlines():
    head = re.match(r'^(ENTRY )?%(\S+) ', line)
    if head and line.rstrip().endswith('{'):
      name = head.group(2)
      comps[name] = []
      if head.group(1):
        entry = name
    elif line.startswith('}'):
      name = None
    elif name is not None:
      comps[name].append(line)
  return comps, entry


class Cost:
  """Counts of one HLO module: flops (total), by kind, and loops with an unknown trip count."""

  def __init__(self, text):
    self._comps, self._entry = _parse(text)
    self._memo = {}
    self.unknown_loops = []
    self.by_kind = self._count(self._entry)

  @property
  def flops(self):
    return sum(self.by_kind.values())

  def _count(self, comp):
    if comp in self._memo:
      return self._memo[comp]
    total = collections.Counter()
    for line in self._comps[comp]:
      match = _INSTR.match(line)
      if not match:
        continue
      _, shape, op, rest = match.groups()
      operands, attrs = _operand_shapes(rest)
      out = _dims(shape)
      if op == 'dot':
        contracted = math.prod(operands[0][d] for d in _attr(attrs, 'lhs_contracting_dims'))
        total['dot'] += 2 * math.prod(out) * contracted
      elif op == 'convolution':
        total['convolution'] += _conv_flops(out, operands[0], operands[1], attrs)
      elif op in ELEMENTWISE:
        total['elementwise'] += math.prod(out)
      elif op == 'reduce':
        total['elementwise'] += math.prod(operands[0])
      elif op == 'while':
        body = re.search(r'body=%([^,\s]+)', attrs).group(1)
        trips = collections.Counter(int(n) for n in _LOOP_BUFFER.findall(shape))
        if trips:
          count = trips.most_common(1)[0][0]
        else:
          count = 1
          self.unknown_loops.append(re.search(r'op_name="([^"]*)"', attrs).group(1) if 'op_name' in attrs else body)
        for kind, value in self._count(body).items():
          total[kind] += count * value
      elif op == 'call':
        total.update(self._count(re.search(r'to_apply=%([^,\s]+)', attrs).group(1)))
      elif op == 'conditional':
        names = re.findall(r'%([^,\s}]+)', attrs.split('metadata=')[0])
        branches = [self._count(n) for n in names if n in self._comps]
        if branches:
          total.update(max(branches, key=lambda c: sum(c.values())))
    self._memo[comp] = total
    return total


def function_flops(fn, *args):
  """FLOPs of one call of the Python function `fn(*args)` (TF ops), and the Cost."""
  import tensorflow as tf
  text = tf.function(fn, jit_compile=True).experimental_get_compiler_ir(*args)(stage='hlo')
  cost = Cost(text)
  return cost.flops, cost
