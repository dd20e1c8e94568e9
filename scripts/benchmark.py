"""Benchmarks: ms per update, env steps/s and peak RSS, printed as a table.

  python scripts/benchmark.py                       # everything, fp32, jit auto
  python scripts/benchmark.py --only dv2_paper --precision bf16 --jit True
  python scripts/benchmark.py --only loader_cache convert_npz convert_mp4 convert_rlbench loader_rss_200 loader_rss_2000
Each model row runs in its own process so that its peak RSS is its own.
Wall time on a shared machine is noisy: CPU seconds per update are printed too.
Update rows also print the FLOPs per update (counted from the XLA HLO of the same
function, dreamerv2/hlo_cost.py), the GFLOP/s achieved and the percentage of the
matmul peak of the row's precision (fp32 or bf16), measured in the same process,
and the load average while the row ran.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT) if ROOT not in sys.path else None
import dreamerv2  # noqa: E402,F401  (first: TensorFlow's start-up lines stay silent)

# name: (configs, description)
MODELS = {
    'dv2_paper': (['metaworld'], 'DreamerV2, RSSM 1024, batch 50x50 (Meta-world fine-tuning size)'),
    'dv2_default': (['defaults'], 'DreamerV2, RSSM 200, batch 16x50 (DreamerV2 default size)'),
    'apv_paper': (['metaworld'], 'APV fine-tuning, RSSM 1024+1024, batch 50x50, bonus on'),
    'pretrain_paper': (['metaworld_pretrain'], 'APV action-free pre-training, RSSM 1024, batch 16x25'),
}
# The loader rows read metaworld_pretrain's video batch and length; data: synthetic 30-frame videos.
LOADERS = {  # name: (format, number of videos)
    'loader_cache': ('npz', 200),  # windows/s sampled from the video cache
    'convert_npz': ('npz', 200), 'convert_mp4': ('video', 100), 'convert_rlbench': ('rlbench', 50),
    'loader_rss_200': ('npz', 200), 'loader_rss_2000': ('npz', 2000),
}
ENVS = {
    'metaworld': ('metaworld', dict(name='reach', camera='corner')),
    'dmc': ('dmc', dict(name='walker_walk')),
}


def peak_rss_gib():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def random_batch(config, act_dim, batch, length):
  import tensorflow as tf
  rng = np.random.default_rng(0)
  is_first = np.zeros((batch, length), bool)
  is_first[:, 0] = True
  return {
      'image': tf.constant(rng.integers(0, 255, (batch, length, 64, 64, 3), dtype=np.uint8)),
      'action': tf.constant(rng.uniform(-1, 1, (batch, length, act_dim)).astype(np.float32)),
      'reward': tf.constant(rng.normal(size=(batch, length)).astype(np.float32)),
      'is_first': tf.constant(is_first), 'is_last': tf.constant(np.zeros((batch, length), bool)),
      'is_terminal': tf.constant(np.zeros((batch, length), bool)),
  }


def matmul_peak(dtype, n=2048, repeats=5):
  """Best GFLOP/s of an n x n matmul in this process (the host's practical peak), per
  wall second and per CPU second of this process (the latter is less sensitive to load)."""
  import tensorflow as tf
  a = tf.cast(tf.random.normal([n, n]), dtype)
  b = tf.cast(tf.random.normal([n, n]), dtype)
  matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y)[:1, :1], tf.float32)))
  matmul(a, b).numpy()
  wall = cpu = float('inf')
  for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    matmul(a, b).numpy()
    wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
  return 2 * n ** 3 / wall / 1e9, 2 * n ** 3 / cpu / 1e9


def time_fn(fn, repeats):
  fn()  # Traces and compiles.
  walls, cpus = [], []
  for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
  return 1000 * float(np.median(walls)), 1000 * float(np.median(cpus))


def bench_model(name, args):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  from apv_ext import config as config_lib
  configs, _ = MODELS[name]
  overrides = ['--precision', args.precision, '--jit', args.jit]
  config = config_lib.parse(['--configs', *configs, *args.extra_configs, *overrides])
  act_dim = 4
  rows = []
  from dreamerv2 import hlo_cost
  load = os.getloadavg()[0]
  peaks = {'32': matmul_peak('float32'), 'bf16': matmul_peak('bfloat16')}
  if name.startswith(('dv2', 'apv')):
    if name.startswith('dv2'):
      from dreamerv2 import agent as agent_lib
      agent = agent_lib.Agent(config, act_dim)
    else:
      from apv_ext import agent as apv_agent
      agent = apv_agent.APVAgent(config, act_dim)
    data = random_batch(config, act_dim, config.dataset.batch, config.dataset.length)
    length = config.dataset.length
    bonus = ' + bonus' if name.startswith('apv') else ''
    wm_fn = lambda d: agent.wm.train(d, agent._seeds(2, length), agent.loss_scale)[1]
    rows.append((f'world model update{bonus}', wm_fn, lambda: agent.train_model_only(data), data))
    rows.append((f'full update (wm{bonus} + imagination + ac)', agent._train_impl, lambda: agent.train(data), data))
  elif name.startswith('pretrain'):
    from apv_ext import video_model
    model = video_model.VideoModel(config)
    video = config.video
    data = random_batch(config, act_dim, video.batch, video.length)
    data = {'image': data['image'], 'is_first': data['is_first']}
    rows.append(('pre-training update', model._train_impl, lambda: model.train(data), data))
  out = []
  for what, graph_fn, run, args_ in rows:
    flops, _ = hlo_cost.function_flops(graph_fn, args_)
    ms, cpu = time_fn(run, args.repeats)
    peak, peak_cpu = peaks['bf16' if args.precision == 'bf16' else '32']
    gflops, gflops_cpu = flops / 1e9 / (ms / 1000), flops / 1e9 / (cpu / 1000)
    out.append(dict(model=name, what=what, ms=ms, cpu_ms=cpu, rss=peak_rss_gib(), gflop=flops / 1e9,
                    gflops=gflops, peak32=peaks['32'][0], peak16=peaks['bf16'][0], pct=100 * gflops / peak,
                    pct_cpu=100 * gflops_cpu / peak_cpu, load=(load + os.getloadavg()[0]) / 2))
  return out


def make_videos(fmt, count, root, frames=30):
  """Synthetic datasets of each format (cached under `root`): a moving pattern, different per video."""
  import pathlib
  out = pathlib.Path(root) / f'{fmt}-{count}'
  if (out / 'done').exists():
    return out
  out.mkdir(parents=True, exist_ok=True)
  y, x = np.mgrid[:64, :64]
  for i in range(count):
    video = np.stack([np.stack([(x + 3 * t + 7 * i) % 256, (y + 5 * t) % 256, (x + y + i) % 256], -1)
                      for t in range(frames)]).astype(np.uint8)
    if fmt == 'npz':
      np.savez_compressed(out / f'v{i}.npz', image=video)
    elif fmt == 'video':
      import imageio.v3 as iio
      big = np.repeat(np.repeat(video[:, :36, :48], 2, 1), 2, 2)  # 72x96
      iio.imwrite(out / f'v{i}.mp4', big, fps=10, codec='libx264', macro_block_size=1)
    else:
      from PIL import Image
      for cam in ('front', 'wrist'):
        folder = out / 'task' / 'variation0' / 'episodes' / f'episode{i}' / f'{cam}_rgb'
        folder.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(np.repeat(np.repeat(video, 2, 1), 2, 2)):  # 128x128
          Image.fromarray(frame).save(folder / f'{t}.png')
  (out / 'done').write_text('')
  return out


def memory_mib():
  """Anonymous and file-backed (mapped shards in the page cache) resident memory, MiB."""
  fields = dict(line.split(':', 1) for line in open('/proc/self/status'))
  return int(fields['RssAnon'].split()[0]) / 1024, int(fields['RssFile'].split()[0]) / 1024


def bench_loader(name, args):
  import shutil
  from apv_ext import video_cache
  from apv_ext import video_data
  from apv_ext import config as config_lib
  fmt, count = LOADERS[name]
  video = config_lib.parse(['--configs', 'metaworld_pretrain', *args.extra_configs]).video
  path = make_videos(fmt, count, args.data_dir)
  cache = f'{args.data_dir}/cache-{name}'
  if name.startswith('convert'):
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    video_cache.prepare(path, cache, progress=False, log=lambda *a: None)
    rate = count * (2 if fmt == 'rlbench' else 1) / (time.perf_counter() - start)
    return [dict(model=name, what=f'{fmt}: conversion videos/s ({os.cpu_count()} workers, first use)',
                 steps_per_sec=rate, rss=peak_rss_gib())]
  # Convert in another process, so that this one's memory is the loader's alone.
  subprocess.run([sys.executable, '-m', 'apv_ext.prepare_videos', str(path), '--out', cache], check=True,
                 capture_output=True, cwd=ROOT)
  anon, _ = memory_mib()
  data = video_data.VideoDataset(path, video.length, video.batch, heldout=0, cache=cache, log=lambda *a: None)
  batches = data.batches()
  next(batches)
  start, n = time.perf_counter(), 0
  while time.perf_counter() - start < args.env_seconds:
    next(batches)
    n += video.batch
  rate = n / (time.perf_counter() - start)
  after, mapped = memory_mib()
  return [dict(model=name, what=f'{count} videos: windows/s of {video.length} frames from the cache',
               steps_per_sec=rate, rss=peak_rss_gib(),
               extra=f'anon RSS +{after - anon:.1f} MiB for the dataset; mapped shards {mapped:.0f} MiB (page cache)')]


def bench_env(name, args):
  from dreamerv2.envs import parallel
  suite, kwargs = ENVS[name]
  rows = []
  for fast in (False, True):
    env = parallel.BatchEnv(suite, {**kwargs, 'fast_render': fast}, [0])
    env.step(np.zeros((1, env.act_dim)))
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < args.env_seconds:
      env.step(np.random.uniform(-1, 1, (1, env.act_dim)))
      steps += 1
    env.close()
    rows.append(dict(model=name, what=f'env step+render/s (1 worker, fast_render {fast})',
                     steps_per_sec=steps / (time.perf_counter() - start), rss=peak_rss_gib()))
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--only', nargs='*', default=None, help='subset of the benchmark names (default: all)')
  parser.add_argument('--precision', default='32', choices=['32', 'bf16', '16'])
  parser.add_argument('--jit', default='auto', choices=['auto', 'True', 'False'])
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--env_seconds', type=float, default=10.0)
  parser.add_argument('--extra_configs', nargs='*', default=[], help='appended to every row\'s configs (e.g. debug)')
  parser.add_argument('--data_dir', default='/tmp/apv_bench_videos', help='synthetic loader datasets (cached)')
  parser.add_argument('--child', default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    fn = bench_model if args.child in MODELS else bench_loader if args.child in LOADERS else bench_env
    print('RESULT ' + json.dumps(fn(args.child, args)))
    return
  known = list(MODELS) + list(LOADERS) + list(ENVS)
  names = args.only or known
  results = []
  for name in names:
    if name not in known:
      sys.exit(f'error: unknown benchmark {name}; choose from {known}')
  for name in names:
    cmd = [sys.executable, __file__, '--child', name, '--precision', args.precision, '--jit', args.jit,
           '--repeats', str(args.repeats), '--env_seconds', str(args.env_seconds), '--data_dir', args.data_dir,
           '--extra_configs', *args.extra_configs]
    print(f'running {name} ...', file=sys.stderr, flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith('RESULT ')]
    if out.returncode or not lines:
      print(f'{name} failed:\n{out.stderr[-2000:]}', file=sys.stderr)
      continue
    results += json.loads(lines[0][7:])
  import tensorflow as tf
  gpu = bool(tf.config.list_physical_devices('GPU'))
  extra = f' + {" ".join(args.extra_configs)}' if args.extra_configs else ''
  print(f'\nprecision {args.precision}, jit {args.jit} (resolves to {gpu if args.jit == "auto" else args.jit}), '
        f'repeats {args.repeats}, {os.cpu_count()} CPUs, GPU {gpu}')
  print(f'{"benchmark":<16} {"what":<44} {"ms/update":>10} {"cpu ms":>9} {"GFLOP":>8} {"GFLOP/s":>8} '
        f'{"peak fp32/bf16":>15} {"% peak":>7} {"% cpu":>6} {"load":>5} {"steps/s":>9} {"peak RSS GiB":>13}')
  for r in results:
    ms = f'{r["ms"]:.0f}' if 'ms' in r else ''
    cpu = f'{r["cpu_ms"]:.0f}' if 'cpu_ms' in r else ''
    sps = f'{r["steps_per_sec"]:.1f}' if 'steps_per_sec' in r else ''
    flops = (f'{r["gflop"]:>8.{1 if r["gflop"] >= 10 else 3}f} {r["gflops"]:>8.1f} {r["peak32"]:>7.0f}/{r["peak16"]:<7.0f} {r["pct"]:>6.0f}% '
             f'{r["pct_cpu"]:>5.0f}% {r["load"]:>5.1f}') if 'gflop' in r else f'{"":>8} {"":>8} {"":>15} {"":>7} {"":>6} {"":>5}'
    print(f'{r["model"]:<16} {r["what"]:<44} {ms:>10} {cpu:>9} {flops} {sps:>9} {r["rss"]:>13.2f}  {r.get("extra", "")}')
  print('\nGFLOP: per update, from the XLA HLO of the same function (dot, convolution, elementwise); % peak: of the '
        'matmul peak of this precision, measured in the same process; % cpu: the same per CPU second of this process '
        '(GFLOP per CPU-second of the update over that of the peak matmul: less sensitive to other load); '
        'load: 1-min load average during the row.')
  print('\nconfigs: ' + '; '.join(f'{k} = --configs {" ".join(v[0])}{extra}: {v[1]}' for k, v in MODELS.items()
                                  if k in names))
  if len(results) < len(names):
    sys.exit(1)


if __name__ == '__main__':
  main()
