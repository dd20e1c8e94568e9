"""Environments in worker processes, one process per environment."""
import os
import select
import subprocess
import sys

import numpy as np

from . import worker as worker_lib
from ..errors import UserError


class EnvError(UserError):
  """An environment failed to start or died; the message names the worker and the cause."""


class Worker:
  """Handle to one environment living in its own Python process."""

  def __init__(self, suite, kwargs, label, timeout=300.0):
    self.label = label
    self._timeout = timeout
    env = dict(os.environ)
    env.setdefault('MUJOCO_GL', 'egl')
    env.setdefault('PYOPENGL_PLATFORM', env['MUJOCO_GL'])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env['PYTHONPATH'] = root + os.pathsep + env.get('PYTHONPATH', '')
    # Its own session: a terminal's Ctrl-C (or a job scheduler's signal to the process
    # group) reaches only the main process, which then closes the workers in order.
    self._proc = subprocess.Popen(
        [sys.executable, '-m', 'dreamerv2.envs.worker'], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, env=env, start_new_session=True)
    spec = self.call('make', suite, kwargs)
    self.obs_space, self.act_dim = spec['obs_space'], spec['act_dim']

  def send(self, method, *args):
    try:
      worker_lib.send(self._proc.stdin, (method, args))
    except (BrokenPipeError, OSError):
      raise self._died()

  def receive(self):
    ready, _, _ = select.select([self._proc.stdout], [], [], self._timeout)
    if not ready:
      self._proc.kill()
      raise EnvError(f'{self.label}: no answer within {self._timeout:.0f}s; worker killed.')
    message = worker_lib.recv(self._proc.stdout)
    if message is None:
      raise self._died()
    status, result = message
    if status == 'error':
      summary, trace = result
      raise EnvError(f'{self.label}: {summary}\n{trace}' if os.environ.get('DV2_DEBUG') else f'{self.label}: {summary}')
    return result

  def call(self, method, *args):
    self.send(method, *args)
    return self.receive()

  def _died(self):
    code = self._proc.wait(timeout=10)
    return EnvError(f'{self.label}: worker process died (exit code {code}); see its stderr above.')

  def close(self):
    if self._proc.poll() is None:
      try:
        self.call('close')
      except EnvError:
        pass
      self._proc.wait(timeout=30)


class BatchEnv:
  """N environments stepped in parallel, each in its own worker.

  `step(actions)` sends all actions before reading any result. An environment whose
  episode ended is reset by the next `step` call (its action is ignored), so the
  caller sees the first observation of the new episode with `is_first` set.
  """

  def __init__(self, suite, kwargs, seeds, label='env'):
    self.workers = []
    try:
      for i, seed in enumerate(seeds):
        self.workers.append(Worker(suite, {**kwargs, 'seed': int(seed)}, f'{label}{i} ({suite}_{kwargs["name"]})'))
    except Exception:
      self.close()
      raise
    self.obs_space = self.workers[0].obs_space
    self.act_dim = self.workers[0].act_dim
    self._done = [True] * len(self.workers)

  def __len__(self):
    return len(self.workers)

  def restart(self):
    """The next `step` resets every environment (episodes in progress are dropped)."""
    self._done = [True] * len(self.workers)

  def step(self, actions):
    """actions [N, A] -> list of N observation dicts."""
    for i, worker in enumerate(self.workers):
      if self._done[i]:
        worker.send('reset')
      else:
        worker.send('step', np.asarray(actions[i], np.float32))
    obs = [worker.receive() for worker in self.workers]
    self._done = [bool(o['is_last']) for o in obs]
    return obs

  def close(self):
    for worker in self.workers:
      worker.close()
