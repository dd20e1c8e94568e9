"""Action-free pre-training on videos (APV stage 1).

  python apv_ext/train_video.py --configs metaworld_pretrain --load_logdir VIDEOS --logdir DIR
  apv-pretrain --configs dmc_vision_pretrain --logdir DIR
VIDEOS is a folder of .npz files (or a dreamerv2 run), video files, an RLBench
dataset or a prepared video cache (`python -m apv_ext.prepare_videos`); it is
converted into the cache under --video.cache once. Without --load_logdir, the
embedded default set (`video.default`: expert Meta-world videos, or DMC locomotion
videos for dmc_vision_pretrain) is collected once into the cache and used.
`--steps` counts gradient updates here.
"""
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def default_dataset(config, log=print):
  """The embedded default: expert videos of unseen Meta-world tasks (or DMC locomotion), collected once."""
  from apv_ext import collect
  from apv_ext import dmc_videos
  from apv_ext import video_cache
  from dreamerv2.errors import UserError
  video = config.video
  if video.default == 'dmc':
    return dmc_videos.default_dataset(config, log)
  if video.default != 'metaworld':
    raise UserError(f"video.default is '{video.default}'; expected metaworld or dmc.")
  cache = video_cache.default_root(video.cache)
  render = 'fast' if config.env.fast_render else 'full'
  tasks = list(collect.DEFAULT_TASKS[:video.default_tasks])
  camera = f'-{config.env.camera}' if config.env.camera else ''  # The default (corner) keeps the old names.
  out = cache / f'metaworld-{len(tasks)}x{video.default_episodes}x{video.default_length}-{config.env.size[0]}-{render}{camera}'
  if (out / 'complete').exists():
    return out
  log(f'Collecting the default pre-training videos into {out} ({len(tasks)} unseen Meta-world tasks x '
      f'{video.default_episodes} expert episodes, {render} rendering); this happens once.')
  cmd = [sys.executable, '-m', 'apv_ext.collect', '--out', str(out),
         '--tasks', *tasks, '--episodes', str(video.default_episodes), '--length', str(video.default_length),
         '--size', str(config.env.size[0]), '--seed', str(config.seed)]
  if config.env.camera:
    cmd += ['--camera', config.env.camera]
  if config.env.fast_render:
    cmd.append('--fast_render')
  # A fresh interpreter: MuJoCo's renderer must not share a process with TensorFlow. Its own
  # session: on Ctrl-C the main process stops it (subprocess.run kills it on any exception).
  error_file = out / 'collect-error.txt'
  # It imports this checkout's apv_ext, whatever the working directory.
  env = {**os.environ, 'APV_ERROR_FILE': str(error_file),
         'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}
  proc = subprocess.run(cmd, start_new_session=True, env=env)
  if proc.returncode != 0:
    summary = error_file.read_text().strip().splitlines()[-1] if error_file.exists() else 'no error recorded'
    raise UserError(f'Collecting the default pre-training videos into {out} failed (exit {proc.returncode}): '
                    f'{summary}. Full traceback in {error_file}; re-running continues the collection.')
  (out / 'complete').write_text('')
  return out


def train(config, log=print):
  from dreamerv2 import config as config_lib
  from dreamerv2 import identity
  from dreamerv2 import lock as lock_lib
  logdir = config_lib.prepare_logdir(config.logdir)
  identity.check(logdir, config, pretrain=True)
  with lock_lib.LogdirLock(logdir, log):
    return _train(config, logdir, log)


def _train(config, logdir, log):
  import tensorflow as tf
  from tqdm import tqdm
  from dreamerv2 import banner
  from dreamerv2 import checkpoint as ckpt_lib
  from dreamerv2 import identity
  from dreamerv2 import interrupt
  from dreamerv2 import jsonl
  from dreamerv2 import logger as logger_lib
  from dreamerv2 import run
  from apv_ext import video_model
  from apv_ext import video_data

  run.seed_everything(config.seed)
  path = config.load_logdir or default_dataset(config, log)
  video = config.video
  data = video_data.VideoDataset(
      path, video.length, video.batch, config.env.size[0], video.format, tuple(video.cameras), video.heldout,
      video.prioritize_ends, seed=config.seed, log=log, cache=video.cache, workers=video.workers)
  identity.write(logdir, config, pretrain=True)
  config.save(str(logdir / 'config.yaml'))
  jsonl.repair(logdir / 'metrics.jsonl', log)
  model = video_model.VideoModel(config)
  ckpt = ckpt_lib.Checkpoint(logdir / 'checkpoint', log=log, model=model)
  ckpt.clean()
  state = ckpt.load() or {'updates': 0}
  resume = f"Resumed from checkpoint at {state['updates']} updates" if state['updates'] else 'New run'
  banner.show(config, logdir, resume, 'Pre-training', f'method {config.method}, videos {path}', log=log)
  video_data.check_identity(state.get('dataset'), data.identity, video.allow_new_data)
  state['dataset'] = data.identity
  updates = state['updates']
  logger = logger_lib.make_logger(logdir, lambda: updates, terminal_pattern=r'^valid/')
  batches = iter(data.dataset())
  valid = {k: tf.constant(v) for k, v in data.validation_batch().items()}
  mean = logger_lib.Mean()

  def evaluate():
    logger.add(model.evaluate(valid), prefix='valid')
    if config.log_videos:
      openloop = model.report(valid)
      logger.add({'openloop': openloop}, prefix='report')
      logger_lib.write_video(logdir / 'videos' / f'openloop-{updates:09d}.mp4', openloop)
    logger.write()

  def save():
    state['updates'] = updates
    ckpt.save(updates, state)

  if updates == 0:
    evaluate()
  bar = tqdm(total=config.steps, initial=updates, unit='update', desc='pre-training', dynamic_ncols=True)
  start, last = time.time(), updates
  with interrupt.deferred():
    try:
      while updates < config.steps:
        interrupt.check()  # Between updates: the model and its optimiser are consistent here.
        metrics = model.train(next(batches))
        mean.add(metrics)
        updates += 1
        bar.update(1)
        if updates % config.log_every == 0 or updates == config.steps:
          result = mean.result()
          bar.set_postfix(image=f"{result['image_loss']:.1f}", kl=f"{result['model_kl']:.2f}")
          logger.add(result, prefix='train')
          logger.add({'updates_per_sec': (updates - last) / max(time.time() - start, 1e-9)}, prefix='perf')
          logger.write()
          start, last = time.time(), updates
        if updates % config.eval_every == 0 or updates == config.steps:
          evaluate()
        if updates % config.save_every == 0 or updates == config.steps:
          save()
    except interrupt.Interrupted as e:
      bar.close()
      save()
      logger.close()
      e.detail = f'checkpoint saved at {updates} updates in {logdir}; re-run the same command to resume.'
      raise
  bar.close()
  save()
  interrupt.done()  # Saved and finished: a signal during teardown just exits.
  logger.close()
  log(f'Pre-training done: {updates} updates. Checkpoint in {logdir / "checkpoint"}; '
      f'fine-tune with --load_logdir {logdir}')
  return logdir


def main(argv=None):
  # Flags first: `--help` and bad flags answer before TensorFlow loads (seconds).
  from apv_ext import config as config_lib
  from dreamerv2 import errors
  from dreamerv2 import interrupt
  interrupt.install()
  try:
    config = config_lib.parse(sys.argv[1:] if argv is None else argv, description=__doc__)
    train(config)
    interrupt.done()
  except errors.UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  except OSError as e:
    message = errors.storage_message(e, sys.argv[1:] if argv is None else argv)
    if message is None:
      raise
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)
  except interrupt.Interrupted as e:
    interrupt.exit_line(e, getattr(e, 'detail', 'stopped before pre-training started; nothing to save.'))


if __name__ == '__main__':
  # From a checkout, this checkout's packages win over any installed copy.
  sys.path.insert(0, str(ROOT))
  main()
