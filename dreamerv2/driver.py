"""Steps a BatchEnv with a policy and hands finished episodes to callbacks."""
import numpy as np

from . import interrupt


class Driver:

  def __init__(self, env):
    self._env = env
    self._callbacks = []
    self.reset()

  def on_episode(self, fn):
    """fn(episode: dict of arrays, env_index) is called for every finished episode."""
    self._callbacks.append(fn)

  def reset(self):
    """Drops episodes in progress; the next call starts new ones."""
    self._env.restart()
    self._obs = None
    self._state = None
    self._episodes = [[] for _ in range(len(self._env))]

  def __call__(self, policy, steps=0, episodes=0):
    """Runs until `steps` env steps (summed over envs) and `episodes` episodes are done.

    policy(obs: dict of [N, ...], state) -> (actions [N, A], state)
    """
    step = episode = 0
    act_dim = self._env.act_dim
    while step < steps or episode < episodes:
      interrupt.check()  # A safe point: Ctrl-C abandons the episodes in progress, not the run.
      if self._obs is None:
        actions = np.zeros((len(self._env), act_dim), np.float32)
      else:
        batch = {'image': np.stack([o['image'] for o in self._obs]),
                 'is_first': np.array([o['is_first'] for o in self._obs])}
        actions, self._state = policy(batch, self._state)
        actions = np.asarray(actions, np.float32)
      obs = self._env.step(actions)
      for i, ob in enumerate(obs):
        if ob['is_first']:
          self._episodes[i] = [{**ob, 'action': np.zeros(act_dim, np.float32)}]
          continue
        self._episodes[i].append({**ob, 'action': actions[i]})
        step += 1
        if ob['is_last']:
          ep = {k: np.stack([t[k] for t in self._episodes[i]]) for k in self._episodes[i][0]}
          for fn in self._callbacks:
            fn(ep, i)
          episode += 1
      self._obs = obs
    return step, episode


def random_policy(act_dim, rng):
  def policy(obs, state):
    return rng.uniform(-1, 1, (len(obs['is_first']), act_dim)).astype(np.float32), state
  return policy
