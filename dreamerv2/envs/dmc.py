"""DeepMind Control Suite from pixels: `dmc_<domain>_<task>`."""
import numpy as np

from . import mujoco


class DMC:

  def __init__(self, name, seed=0, size=(64, 64), action_repeat=2, fast_render=False, length=0, camera=None):
    from .gl import check_backend
    check_backend()  # Sets MUJOCO_GL=egl unless given; a missing library is one clear line.
    from dm_control import suite
    domain, _, task = name.partition('_')
    if (domain, task) not in suite.ALL_TASKS:
      known = ', '.join(f'{d}_{t}' for d, t in suite.ALL_TASKS)
      raise ValueError(f"Unknown DMC task '{name}'; known: {known}")
    self._env = suite.load(domain, task, task_kwargs={'random': seed})
    if fast_render:
      mujoco.disable_shadows(self._env.physics.model._model)
    # The paper's cameras unless one is given, by id ('1' from a config) or name ('side').
    if camera is None or camera == '':
      camera = 2 if domain == 'quadruped' else 0
    self._camera = int(camera) if str(camera).isdigit() else camera
    cameras = self._env.physics.model.ncam
    if isinstance(self._camera, int) and not -1 <= self._camera < cameras:
      raise ValueError(f"DMC task {name}: env.camera {camera} is not a camera id of this domain (0..{cameras - 1}).")
    if isinstance(self._camera, str):
      try:
        self._env.physics.model.name2id(self._camera, 'camera')
      except Exception:
        raise ValueError(f"DMC task {name}: no camera named '{camera}' (env.camera).") from None
    self._repeat = action_repeat
    self._length = length  # Agent steps; 0 keeps the task's own time limit.
    self._size = tuple(size)
    spec = self._env.action_spec()
    if not (np.all(spec.minimum == -1) and np.all(spec.maximum == 1)):
      raise ValueError(f'DMC task {name} has actions outside [-1, 1]: {spec}')
    self.obs_space = {'image': (self._size + (3,), 'uint8')}
    self.act_dim = int(spec.shape[0])

  def render(self):
    return self._env.physics.render(*self._size, camera_id=self._camera)

  def reset(self):
    self._env.reset()
    self._step = 0
    return self._obs(0.0, True, False, False)

  def step(self, action):
    reward = 0.0
    for _ in range(self._repeat):
      step = self._env.step(np.asarray(action, np.float64))
      reward += step.reward or 0.0
      if step.last():
        break
    self._step += 1
    # Time limits end episodes with discount 1; only a discount of 0 is terminal.
    terminal = step.last() and step.discount == 0
    return self._obs(reward, False, step.last() or self._step == self._length, terminal)

  def _obs(self, reward, is_first, is_last, is_terminal):
    return {'image': self.render(), 'reward': np.float32(reward), 'is_first': is_first,
            'is_last': bool(is_last), 'is_terminal': bool(is_terminal)}

  def close(self):
    pass
