"""Environments, one file per suite, loaded lazily inside worker processes.

Task names are `<suite>_<name>`: `metaworld_reach`, `dmc_walker_walk`, `dummy_image`.
Every environment returns observations as dicts of numpy arrays:
  image uint8 [H, W, 3], reward float32, is_first/is_last/is_terminal bool,
  plus `log_*` entries (e.g. log_success) that are logged, not learned from.
This package never imports TensorFlow: MuJoCo's software renderer and TF crash in
one process, so environments run in workers (see `worker.py`, `parallel.py`).
"""
from ..errors import UserError

SUITES = {
    'metaworld': 'dreamerv2.envs.metaworld:MetaWorld',
    'dmc': 'dreamerv2.envs.dmc:DMC',
    'dummy': 'dreamerv2.envs.dummy:Dummy',
}


def parse_task(task):
  """'metaworld_lever_pull' -> ('metaworld', 'lever_pull'), with a clear error."""
  suite, _, name = task.partition('_')
  if suite not in SUITES or not name:
    raise UserError(
        f"Unknown task '{task}': expected <suite>_<name> with suite one of {', '.join(SUITES)} "
        "(e.g. metaworld_reach, dmc_walker_walk, dummy_image).")
  return suite, name


def env_kwargs(config, task=None):
  """The constructor arguments of a task's environment, from the config."""
  suite, name = parse_task(task or config.task)
  kwargs = dict(name=name, size=tuple(config.env.size), action_repeat=config.env.action_repeat,
                fast_render=config.env.fast_render, length=config.env.length)
  if config.env.camera:  # Otherwise each suite's own default, the paper's camera.
    kwargs['camera'] = config.env.camera
  return suite, kwargs
