"""Evaluate a run's checkpoint: N episodes with the eval policy, per-episode results, videos.

  python scripts/evaluate.py --logdir RUN [--episodes N] [--video] [--checkpoint latest|STEP]

The agent is rebuilt from the run's recorded config (RUN/config.yaml; DreamerV2 or
APV by its `method`), the checkpoint's weights are loaded, and N episodes run in the
run's eval environments. It prints the mean return and success and writes
RUN/evaluate/<step>.json (per-episode returns, successes, lengths), where <step> is
the checkpoint's env frames; --video adds one mp4 per episode, upscaled to >= 256 px.
"""
import argparse
import json
import os
import pathlib
import sys


def checkpoints(logdir):
  """{env frames: checkpoint folder} of the complete checkpoints of a run."""
  out = {}
  for path in sorted((logdir / 'checkpoint').glob('ckpt-*')):
    if path.name.endswith('.tmp') or not (path / 'extra.json').exists():
      continue
    try:
      out[int(json.loads((path / 'extra.json').read_text())['frames'])] = path
    except (ValueError, KeyError, TypeError):
      continue
  return out


def pick_checkpoint(logdir, which):
  from dreamerv2.errors import UserError
  available = checkpoints(logdir)
  if not available:
    raise UserError(f'{logdir}/checkpoint has no complete checkpoint to evaluate.')
  if which == 'latest':
    pointer = logdir / 'checkpoint' / 'latest'
    if pointer.exists():
      latest = logdir / 'checkpoint' / pointer.read_text().strip()
      for frames, path in available.items():
        if path == latest:
          return frames, path
    frames = max(available)
    return frames, available[frames]
  try:
    step = int(which)
  except ValueError:
    raise UserError(f"--checkpoint {which}: expected 'latest' or an env-frame step.") from None
  if step not in available:
    raise UserError(f'--checkpoint {step}: no checkpoint at that step in {logdir}/checkpoint; '
                    f'available steps: {", ".join(map(str, sorted(available)))}.')
  return step, available[step]


def load_config(logdir):
  import elements
  from dreamerv2.errors import UserError
  path = logdir / 'config.yaml'
  if not path.exists():
    raise UserError(f'--logdir {logdir} has no config.yaml: expected a training run\'s logdir.')
  config = elements.Config.load(str(path))
  if 'apv' in config:
    # The checkpoint holds every weight: no pre-trained weights are loaded (their logdir may be gone).
    config = config.update({'apv.load_pretrained': False})
  return config


def make_agent(config, act_dim):
  quiet = lambda *args, **kwargs: None
  if config.method == 'dreamerv2' or 'apv' not in config:
    from dreamerv2 import agent
    return agent.Agent(config, act_dim)
  from apv_ext import agent
  return agent.make_agent(config, act_dim, quiet)


def episode_stats(episode):
  out = {'return': float(episode['reward'][1:].sum()), 'length': int(len(episode['reward']) - 1)}
  if 'log_success' in episode:
    out['success'] = bool(episode['log_success'].max() > 0)
  return out


def evaluate(logdir, episodes, video=False, which='latest', log=print):
  """Runs the evaluation; returns the record written to RUN/evaluate/<step>.json."""
  import numpy as np
  import tensorflow as tf
  from dreamerv2 import driver as driver_lib
  from dreamerv2 import logger as logger_lib
  from dreamerv2 import run as run_lib
  from dreamerv2.errors import UserError

  logdir = pathlib.Path(logdir).expanduser()
  if not logdir.is_dir():
    raise UserError(f'--logdir {logdir} is not a directory.')
  if episodes < 1:
    raise UserError(f'--episodes {episodes}: expected a positive number.')
  config = load_config(logdir)
  step, path = pick_checkpoint(logdir, which)
  env = run_lib.make_env(config, 'eval')
  try:
    agent = make_agent(config, env.act_dim)
    tf.train.Checkpoint(agent=agent).read(str(path / 'variables')).assert_existing_objects_matched()
    log(f'Loaded {path} ({step} env frames); running {episodes} episodes of {config.task} with the eval policy.')
    found = []
    driver = driver_lib.Driver(env)
    driver.on_episode(lambda episode, worker: found.append(episode))
    driver(lambda obs, state: agent.policy(obs, state, 'eval'), episodes=episodes)
  finally:
    env.close()
  found = found[:episodes]  # Several eval envs may finish more than asked for on the last step.
  stats = [episode_stats(ep) for ep in found]
  out_dir = logdir / 'evaluate'
  out_dir.mkdir(exist_ok=True)
  record = {
      'step': step, 'checkpoint': path.name, 'method': config.method, 'task': config.task, 'seed': config.seed,
      'preset': config.preset, 'episodes': len(stats),
      'returns': [s['return'] for s in stats], 'lengths': [s['length'] for s in stats],
      'return': float(np.mean([s['return'] for s in stats])),
  }
  if all('success' in s for s in stats):
    record['successes'] = [s['success'] for s in stats]
    record['success'] = float(np.mean(record['successes']))
  if video:
    record['videos'] = []
    for i, ep in enumerate(found):
      name = f'{step}-episode{i}.mp4'
      logger_lib.write_video(out_dir / name, ep['image'])
      record['videos'].append(name)
  tmp = out_dir / f'{step}.json.tmp'
  tmp.write_text(json.dumps(record, indent=1) + '\n')
  tmp.replace(out_dir / f'{step}.json')
  summary = f"return {record['return']:.3f}" + (f", success {record['success']:.3f}" if 'success' in record else '')
  log(f'{config.method} on {config.task} (seed {config.seed}) at {step} env frames, {len(stats)} episodes: '
      f'{summary}. Per episode: {out_dir / f"{step}.json"}')
  return record


def main(argv=None):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--logdir', required=True, help='a training run\'s logdir')
  parser.add_argument('--episodes', type=int, default=10)
  parser.add_argument('--video', action='store_true', help='write one mp4 per episode')
  parser.add_argument('--checkpoint', default='latest', help="'latest' or the env-frame step of a kept checkpoint")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  from dreamerv2.errors import UserError
  try:
    evaluate(args.logdir, args.episodes, args.video, args.checkpoint)
  except UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  main()
