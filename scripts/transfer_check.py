"""Does action-free pre-training help the fine-tuning world model? (the paper's claim, CPU scale)

  python scripts/transfer_check.py --logdir logs/transfer --seeds 3 --updates 300
1. pre-trains a small video model on the default Meta-world videos (or reuses it),
2. records random-policy episodes of an unseen task (fixed data, reused),
3. trains the stacked fine-tuning world model on identical batches from the
   pre-trained weights and from scratch, per seed, and prints held-out image and
   reward losses at a few update counts. The intrinsic bonus is off so both arms
   fit the same reward targets.
"""
import argparse
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import dreamerv2  # noqa: E402,F401  (first: TensorFlow's start-up lines stay silent)


def collect_random(config, out, episodes, seed):
  import numpy as np
  from dreamerv2 import driver as driver_lib
  from dreamerv2 import envs
  from dreamerv2 import replay as replay_lib
  from dreamerv2.envs import parallel
  suite, kwargs = envs.env_kwargs(config)
  replay = replay_lib.Replay(out, 10 ** 9, config.dataset.length, seed=seed)
  if replay.total_episodes >= episodes:
    return replay
  env = parallel.BatchEnv(suite, kwargs, [seed + 77], 'data_env')
  try:
    driver = driver_lib.Driver(env)
    driver.on_episode(lambda ep, i: replay.add(ep))
    driver(driver_lib.random_policy(env.act_dim, np.random.default_rng(seed)),
           episodes=episodes - replay.total_episodes)
  finally:
    env.close()
  return replay


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--logdir', default='logs/transfer')
  parser.add_argument('--task', default='metaworld_drawer_open')
  parser.add_argument('--configs', nargs='*', default=['small'])
  parser.add_argument('--pretrain_steps', type=int, default=1000)
  parser.add_argument('--episodes', type=int, default=12, help='random-policy episodes (2 held out)')
  parser.add_argument('--seeds', type=int, default=3)
  parser.add_argument('--updates', type=int, default=300)
  parser.add_argument('--report', type=int, nargs='*', default=[0, 25, 50, 100, 200, 300])
  args = parser.parse_args()
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  logdir = pathlib.Path(args.logdir).expanduser().resolve()
  pre = logdir / 'pretrain'
  subprocess.run([sys.executable, str(ROOT / 'apv_ext' / 'train_video.py'), '--configs', 'metaworld_pretrain',
                  *args.configs, '--steps', str(args.pretrain_steps), '--log_videos', 'False', '--eval_every',
                  str(args.pretrain_steps), '--logdir', str(pre)], check=True)

  import numpy as np
  import tensorflow as tf
  from tqdm import tqdm
  from apv_ext import agent as apv_agent
  from apv_ext import config as config_lib
  from dreamerv2 import run

  base = ['--configs', 'metaworld', *args.configs, 'no_intr', '--task', args.task]
  config = config_lib.parse(base)
  from dreamerv2 import replay as replay_lib
  collect_random(config, logdir / 'data', args.episodes, seed=0)
  files = sorted((logdir / 'data').glob('*.npz'))
  length, batch = config.dataset.length, config.dataset.batch

  def split(paths, seed):
    """A replay over some of the episodes: the held-out ones never reach training."""
    directory = logdir / f'split-{seed}-{len(paths)}'
    directory.mkdir(exist_ok=True)
    for path in paths:
      if not (directory / path.name).exists():
        (directory / path.name).symlink_to(path)
    return replay_lib.Replay(directory, 10 ** 9, length, seed=seed)

  def windows(replay, n):
    items = [replay.sample_window() for _ in range(n)]
    return {k: tf.constant(np.stack([w[k] for w in items])) for k in items[0]}

  train_eps = files[:-2]
  held_replay = split(files[-2:], 999)
  held = [windows(held_replay, batch) for _ in range(4)]
  results = {}
  for seed in range(args.seeds):
    train_replay = split(train_eps, seed)
    batches = [windows(train_replay, batch) for _ in range(args.updates)]
    for variant in ('pretrained', 'scratch'):
      run.seed_everything(seed)
      flags = [*base, '--seed', str(seed), '--load_logdir', str(pre), '--apv.load_pretrained', str(variant == 'pretrained')]
      agent = apv_agent.APVAgent(config_lib.parse(flags), 4, log=lambda *a: None)
      evaluate = tf.function(lambda d: agent.wm.loss(d, agent._seeds(2, length))[2])
      for update in tqdm(range(args.updates + 1), desc=f'seed {seed} {variant}', leave=False):
        if update in args.report:
          mets = [evaluate(d) for d in held]
          for key in ('image_loss', 'reward_loss'):
            value = float(np.mean([m[key].numpy() for m in mets]))
            results.setdefault((variant, key, update), []).append(value)
        if update < args.updates:
          agent.train_model_only(batches[update])
          agent.on_update(update + 1)

  print(f'\nHeld-out world-model losses on {args.task} random-policy data ({len(train_eps)} train / 2 held-out '
        f'episodes), mean ± std over {args.seeds} seeds; configs {" ".join(base[1:])}; pre-trained for '
        f'{args.pretrain_steps} updates on the default videos.')
  print(f'{"updates":>8} {"image pre-trained":>20} {"image scratch":>20} {"reward pre-trained":>20} {"reward scratch":>20}')
  fmt = lambda v: f'{np.mean(v):.1f} ± {np.std(v):.1f}' if np.mean(v) > 100 else f'{np.mean(v):.3f} ± {np.std(v):.3f}'
  for update in args.report:
    if update > args.updates:
      continue
    cells = [fmt(results[(v, k, update)]) for k in ('image_loss', 'reward_loss') for v in ('pretrained', 'scratch')]
    print(f'{update:>8} ' + ' '.join(f'{c:>20}' for c in cells))
  print('(image loss is the summed Gaussian NLL per frame: its floor is 64*64*3*0.919 = 11292)')


if __name__ == '__main__':
  main()
