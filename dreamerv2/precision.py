"""Compute precision: one switch read by every layer (`precision: 32|bf16|16`).

Variables stay float32; layers cast inputs and weights to the compute dtype at
the matmul/conv. Losses and distributions are always float32.
"""
import tensorflow as tf

_DTYPES = {'32': tf.float32, 'bf16': tf.bfloat16, '16': tf.float16}
_state = {'dtype': tf.float32}


def set_precision(name):
  name = str(name)
  if name not in _DTYPES:
    raise ValueError(f"precision must be one of 32, bf16, 16 (got '{name}').")
  _state['dtype'] = _DTYPES[name]


def compute_dtype():
  return _state['dtype']
