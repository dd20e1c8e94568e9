"""Meta-world 3 single tasks with 64x64 images from the `corner` camera."""
import numpy as np

from . import mujoco


class MetaWorld:
  """`reach` -> `reach-v3`. Episodes of 500 steps (or `length`) that truncate and never terminate.

  Object and goal positions are re-drawn at every reset from this env's own seeded
  RNG. `log_success` is the per-step success flag; episode success is success at
  any step (computed by the logger).
  """

  def __init__(self, name, seed=0, size=(64, 64), camera='corner', action_repeat=1, fast_render=False, length=0):
    from .gl import check_backend
    check_backend()  # Sets MUJOCO_GL=egl unless given; a missing library is one clear line.
    import metaworld
    task = name.replace('_', '-') + '-v3'
    if task not in metaworld.ALL_V3_ENVIRONMENTS:
      raise ValueError(f"Unknown Meta-world task '{name}' ({task}); known: "
                       + ', '.join(t[:-3].replace('-', '_') for t in sorted(metaworld.ALL_V3_ENVIRONMENTS)))
    mt1 = metaworld.MT1(task, seed=seed)
    env = mt1.train_classes[task](render_mode='rgb_array', camera_name=camera, width=size[1], height=size[0])
    env.set_task(mt1.train_tasks[0])
    env._freeze_rand_vec = False
    env.seeded_rand_vec = True
    env.seed(seed)
    if fast_render:
      mujoco.disable_shadows(env.model)
    self._env = env
    self._length = min(length or env.max_path_length, env.max_path_length)
    self._repeat = action_repeat
    self._size = tuple(size)
    self.obs_space = {'image': (self._size + (3,), 'uint8'), 'state': ((39,), 'float32')}
    self.act_dim = 4

  def render(self):
    # MuJoCo's corner camera renders upside down; flipping rows gives the upright view.
    return np.ascontiguousarray(self._env.render()[::-1])

  def reset(self):
    state, _ = self._env.reset()
    self._step = 0
    return self._obs(state, 0.0, True, False, 0.0)

  def step(self, action):
    action = np.clip(np.asarray(action, np.float32), -1, 1)
    reward, success, truncated = 0.0, 0.0, False
    for _ in range(self._repeat):
      state, rew, _, truncated, info = self._env.step(action)
      reward += float(rew)
      success = max(success, float(info['success']))
      if truncated:
        break
    self._step += 1
    return self._obs(state, reward, False, truncated or self._step >= self._length, success)

  def _obs(self, state, reward, is_first, is_last, success):
    return {
        'image': self.render(), 'state': np.asarray(state, np.float32),
        'reward': np.float32(reward), 'is_first': is_first, 'is_last': is_last,
        'is_terminal': False, 'log_success': np.float32(success),
    }

  def close(self):
    self._env.close()
