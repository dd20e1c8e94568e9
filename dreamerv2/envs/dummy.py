"""A tiny image environment for tests: move a square towards a fixed target."""
import numpy as np


class Dummy:
  """`dummy_image`. A 2-D point moved by the first two action dims; reward is minus the
  distance to a target drawn per episode. Renders the point and target as squares."""

  def __init__(self, name='image', seed=0, size=(64, 64), action_repeat=1, fast_render=False, length=0):
    if name != 'image':
      raise ValueError(f"Unknown dummy task '{name}' (only dummy_image exists).")
    self._rng = np.random.default_rng(seed)
    self._size = tuple(size)
    self._length = length or 50
    self._repeat = action_repeat
    self.obs_space = {'image': (self._size + (3,), 'uint8')}
    self.act_dim = 2

  def reset(self):
    self._pos = self._rng.uniform(-1, 1, 2)
    self._goal = self._rng.uniform(-1, 1, 2)
    self._t = 0
    return self._obs(0.0, True, False)

  def step(self, action):
    reward = 0.0
    for _ in range(self._repeat):
      self._pos = np.clip(self._pos + 0.1 * np.clip(np.asarray(action[:2]), -1, 1), -1, 1)
      reward -= float(np.linalg.norm(self._pos - self._goal))
    self._t += 1
    return self._obs(reward, False, self._t >= self._length)

  def _obs(self, reward, is_first, is_last):
    return {'image': self.render(), 'reward': np.float32(reward), 'is_first': is_first,
            'is_last': is_last, 'is_terminal': False, 'log_success': np.float32(
                np.linalg.norm(self._pos - self._goal) < 0.2)}

  def render(self):
    h, w = self._size
    image = np.zeros((h, w, 3), np.uint8)
    for pos, channel in ((self._goal, 1), (self._pos, 0)):
      y, x = int((pos[1] + 1) / 2 * (h - 6)), int((pos[0] + 1) / 2 * (w - 6))
      image[y:y + 6, x:x + 6, channel] = 255
    return image

  def close(self):
    pass
