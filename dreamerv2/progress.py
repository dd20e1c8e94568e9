"""What a person watches during a run: one tqdm bar with ETA over env frames (prefill,
warm-up, training) and one short line of the values that matter, instead of every metric.

The full metrics still go to metrics.jsonl, TensorBoard and W&B. Without a terminal
(a sweep's log file), the bar is off and the short line is printed at each log write.
"""
import sys

# (label, metric keys tried in order, format): the first key present is shown.
WATCHED = (
    ('return', ('eval/return', 'train/episode/return'), '{:.1f}'),
    ('success', ('eval/success', 'train/episode/success'), '{:.2f}'),
    ('image', ('train/wm/image_loss',), '{:.1f}'),
    ('reward', ('train/wm/reward_loss',), '{:.3f}'),
    ('kl', ('train/wm/kl_loss',), '{:.2f}'),
    ('bonus', ('train/wm/intr_mean',), '{:.3f}'),
    ('fps', ('perf/fps',), '{:.0f}'),
)


def watch_line(values):
  """'return 12.3 | success 0.40 | image 1234.5 | ...' from the latest value of each watched metric."""
  cells = []
  for label, keys, fmt in WATCHED:
    for key in keys:
      if key in values:
        cells.append(f'{label} {fmt.format(values[key])}')
        break
  return ' | '.join(cells)


class Progress:
  """A tqdm bar over env frames whose description names the phase."""

  def __init__(self, total, initial=0, log=print, stream=None):
    from tqdm import tqdm
    self._log = log
    self._values = {}
    self._frames, self._total = initial, total
    stream = stream or sys.stderr
    self.interactive = hasattr(stream, 'isatty') and stream.isatty()
    self._bar = tqdm(total=total, initial=initial, unit='frame', unit_scale=True, dynamic_ncols=True,
                     file=stream, disable=not self.interactive, desc='start', mininterval=0.5)

  def phase(self, name):
    self._bar.set_description_str(name, refresh=False)

  def update(self, frames):
    if frames > self._frames:
      self._bar.update(frames - self._frames)
      self._frames = frames

  def watch(self, metrics):
    """Remembers the newest watched values and shows them (on the bar, or as a line without a terminal)."""
    self._values.update({k: float(v) for k, v in metrics.items() if _is_scalar(v)})
    line = watch_line(self._values)
    if self.interactive:
      self._bar.set_postfix_str(line, refresh=True)
    elif line:
      self._log(f'[{self._frames}/{self._total} frames] {line}')

  def write(self, message):
    """Prints a message without breaking the bar."""
    if self.interactive:
      self._bar.write(message)
    else:
      self._log(message)

  def close(self):
    self._bar.close()


def _is_scalar(value):
  try:
    float(value)
    return True
  except (TypeError, ValueError):
    return False
