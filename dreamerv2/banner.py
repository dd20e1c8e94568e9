"""The start-up block every training entry point prints: what runs where, and from which state."""
import os


def devices():
  """'GPU:0 (NVIDIA A100), GPU:1 (...)' or 'CPU only (N cores)', as TensorFlow sees them."""
  import tensorflow as tf
  names = []
  for device in tf.config.list_physical_devices('GPU'):
    details = tf.config.experimental.get_device_details(device)
    label = device.name.split('physical_device:')[-1]
    names.append(f"{label} ({details['device_name']})" if details.get('device_name') else label)
  return ', '.join(names) or f'CPU only ({os.cpu_count()} cores)'


def lines(config, logdir, resume, title, what=None):
  """`what` names the run's data (default: its method and task)."""
  from .agent import resolve_jit
  precision = {'32': 'float32', 'bf16': 'mixed bfloat16', '16': 'mixed float16 (dynamic loss scaling)'}
  jit = resolve_jit(config.jit)
  return [
      title,
      f'  devices    {devices()}',
      f'  precision  {precision.get(str(config.precision), config.precision)}',
      f"  XLA        {'on' if jit else 'off'} (jit: {config.jit})",
      f"  configs    {config.named_configs or 'defaults'}  ({what or f'method {config.method}, task {config.task}'})",
      f'  logdir     {logdir}',
      f'  state      {resume}',
  ]


def show(config, logdir, resume, title, what=None, log=print):
  log('\n'.join(lines(config, logdir, resume, title, what)))
