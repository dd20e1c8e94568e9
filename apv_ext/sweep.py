"""Sweeps on Ray: every (method, task, seed) as one training run, packed onto a cluster.

  python scripts/sweep.py --configs metaworld --tasks metaworld_reach metaworld_lever_pull --seeds 0 1 2 \\
      --methods dreamerv2 apv apv_no_intr --load_logdir PRETRAIN --logdir SWEEPDIR [--key value ...]

Each run lives in SWEEPDIR/<method>/<task>/<seed> and is a subprocess (the ordinary
training entry point) launched from a Ray task that declares --cpus_per_run and
--gpus_per_run, so Ray packs runs onto the machines' CPUs and GPUs. Without --address
a local Ray cluster is started; --address auto|HOST:PORT joins a running one (the
runs then write SWEEPDIR from other machines: it must be on a shared filesystem).

Re-running the same command skips finished runs and resumes the others. Ctrl-C (or
SIGTERM) sends SIGINT to every run, which saves a checkpoint and exits; a second
Ctrl-C asks them to exit at once. A failing run does not stop the others. The end is
a table of runs (status, env frames, last success or return, the log of each failed
run) and a non-zero exit if any run failed or was interrupted.

Methods are run labels: `dreamerv2`, `apv`, or an ablation's (`apv_no_intr`, ...):
the sweep adds the named config that sets that label.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
STOP = '.stop'          # SWEEPDIR/.stop: written on Ctrl-C; the Ray tasks poll it.
POLL = 0.25             # seconds between a task's checks of its run and the stop file
# Ray starts its workers with SIGINT blocked, and children inherit signal masks: the
# run is exec'd through this prologue so that SIGINT and SIGTERM reach its handlers.
UNBLOCK = ('import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM}); '
           '[signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM)]; '
           'os.execv(sys.executable, [sys.executable, *sys.argv[1:]])')


def method_configs():
  """{label: named config that sets it}: 'apv' needs none, 'dreamerv2' is DreamerV2's entry point."""
  from apv_ext import config as apv_config
  out = {'dreamerv2': None, 'apv': None}
  for name, blocks in apv_config.load_layers()[1].items():
    for block in blocks:
      if 'method' in block and block['method'] not in ('apv', 'apv_pretrain'):
        out[block['method']] = name
  return out


class Run:
  """One (method, task, seed): its command line, logdir and sweep bookkeeping files."""

  def __init__(self, sweepdir, method, task, seed, argv, steps, metric):
    self.method, self.task, self.seed = method, task, seed
    self.argv, self.steps, self.metric = argv, steps, metric
    self.logdir = sweepdir / method / task / str(seed)
    # Bookkeeping stays outside the run's logdir, which belongs to the trainer alone.
    self.log = sweepdir / 'logs' / method / task / f'{seed}.log'
    self.status_file = self.log.with_suffix('.json')

  @property
  def name(self):
    return f'{self.method}/{self.task}/{self.seed}'

  def command(self):
    return [sys.executable, *self.argv]

  def finished(self):
    """Done earlier with this very command line (a larger --steps is a new command: it resumes)."""
    try:
      status = json.loads(self.status_file.read_text())
    except (OSError, ValueError):
      return False
    return status.get('status') == 'done' and status.get('argv') == self.argv

  def progress(self):
    """(env frames, last score) from the run's files, without TensorFlow."""
    frames = score = None
    pointer = self.logdir / 'checkpoint' / 'latest'
    try:
      extra = self.logdir / 'checkpoint' / pointer.read_text().strip() / 'extra.json'
      frames = json.loads(extra.read_text()).get('frames')
    except (OSError, ValueError):
      pass
    from dreamerv2 import jsonl
    try:
      records, _ = jsonl.read(self.logdir / 'scores.jsonl', required=('step',))
    except OSError:
      records = []
    for record in reversed(records):
      if self.metric in record:
        score = record[self.metric]
        frames = max(frames or 0, record['step'])
        break
    return frames, score


def _write_json(path, data):
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + '.tmp')
  tmp.write_text(json.dumps(data) + '\n')
  tmp.replace(path)


def run_one(command, log, status_file, stop, env, cwd, grace):
  """The body of a Ray task: runs one training subprocess to its end, or stops it.

  The run gets its own session, so only this task signals it: SIGINT when the stop
  file appears, SIGINT again when it says 'now', SIGKILL after `grace` seconds.
  """
  stop, log, status_file = pathlib.Path(stop), pathlib.Path(log), pathlib.Path(status_file)
  if stop.exists():
    return {'status': 'not started', 'returncode': None}
  log.parent.mkdir(parents=True, exist_ok=True)
  _write_json(status_file, {'status': 'running', 'argv': command[1:], 'host': os.uname().nodename})
  full_env = {**os.environ, **env}
  with open(log, 'ab') as out:
    out.write(f'\n$ {" ".join(command)}\n'.encode())
    out.flush()
    proc = subprocess.Popen([command[0], '-c', UNBLOCK, *command[1:]], stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=cwd,
                            start_new_session=True)
  signalled, asked_now = None, False
  try:
    while True:
      try:
        code = proc.wait(timeout=POLL)
        break
      except subprocess.TimeoutExpired:
        pass
      if stop.exists():
        if signalled is None:
          proc.send_signal(signal.SIGINT)
          signalled = time.time()
        elif not asked_now and stop.read_text().strip() == 'now':
          proc.send_signal(signal.SIGINT)
          asked_now = True
        elif time.time() - signalled > grace:
          proc.kill()
  except KeyboardInterrupt:  # ray.cancel(): stop the run the same way, then give up the task.
    proc.send_signal(signal.SIGINT)
    try:
      proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
      proc.kill()
    raise
  if code == 0:
    status = 'done'
  elif signalled is not None:
    status = 'interrupted'
  else:
    status = 'failed'
  result = {'status': status, 'returncode': code, 'argv': command[1:], 'host': os.uname().nodename}
  _write_json(status_file, result)
  return result


def build_runs(args, extra):
  """The runs of the grid, each command line checked by the trainer's own parser first."""
  from apv_ext import config as apv_config
  from dreamerv2 import config as dv2_config
  from dreamerv2.errors import UserError
  known = method_configs()
  unknown = [m for m in args.methods if m not in known]
  if unknown:
    raise UserError(f"Unknown method(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
  sweepdir = pathlib.Path(args.logdir).expanduser().resolve()
  load = str(pathlib.Path(args.load_logdir).expanduser().resolve()) if args.load_logdir else ''
  runs = []
  for method in args.methods:
    for task in args.tasks:
      for seed in args.seeds:
        run_dir = sweepdir / method / task / str(seed)
        common = ['--task', task, '--seed', str(seed), '--logdir', str(run_dir), *extra]
        if method == 'dreamerv2':
          argv = ['-m', 'dreamerv2.train', '--configs', *args.configs, *common]
          config = dv2_config.parse(argv[2:])
        else:
          named = [known[method]] if known[method] else []
          weights = ['--load_logdir', load] if load else []
          argv = ['-m', 'apv_ext.train', '--configs', *args.configs, *named, *common, *weights]
          config = apv_config.parse_finetune(argv[2:])
        if config.method != method:
          raise UserError(f"--configs {' '.join(args.configs)} label runs '{config.method}', not '{method}'; "
                          'give the base configs and select ablations with --methods.')
        metric = 'success' if task.startswith('metaworld') else 'return'
        runs.append(Run(sweepdir, method, task, seed, argv, config.steps, metric))
  return sweepdir, runs


def table(runs, results):
  """The final table: one row per run; the log path of every run that did not finish."""
  header = ('method', 'task', 'seed', 'status', 'env frames', 'last score', 'log')
  rows = []
  for run in runs:
    status = results.get(run.name, {}).get('status', '?')
    frames, score = run.progress()
    score = f'{run.metric} {score:.3f}' if score is not None else '-'
    log = str(run.log) if status in ('failed', 'interrupted') else ''
    rows.append((run.method, run.task, str(run.seed), status, '-' if frames is None else str(frames), score, log))
  widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
  line = lambda cells: '  '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
  return '\n'.join([line(header), line(['-' * w for w in widths]), *map(line, rows)])


def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog='Other --key value pairs go to every run.')
  parser.add_argument('--configs', nargs='+', default=['metaworld'], help='base named configs of every run')
  parser.add_argument('--tasks', nargs='+', required=True)
  parser.add_argument('--seeds', nargs='+', type=int, default=[0])
  parser.add_argument('--methods', nargs='+', default=['dreamerv2', 'apv'])
  parser.add_argument('--load_logdir', default='', help='pre-training logdir for the APV methods')
  parser.add_argument('--logdir', required=True, help='SWEEPDIR: runs go to SWEEPDIR/<method>/<task>/<seed>')
  parser.add_argument('--address', default=None, help='join a Ray cluster (auto or HOST:PORT) instead of a local one')
  parser.add_argument('--num_cpus', type=int, default=None, help='CPUs of the local cluster (default: all)')
  parser.add_argument('--cpus_per_run', type=float, default=1)
  parser.add_argument('--gpus_per_run', type=float, default=0)
  parser.add_argument('--grace', type=float, default=120, help='seconds a stopped run may take to save and exit')
  return parser.parse_known_args(argv)


def main(argv=None):
  from dreamerv2.errors import UserError
  args, extra = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    sweepdir, runs = build_runs(args, extra)
  except UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  stop = sweepdir / STOP
  sweepdir.mkdir(parents=True, exist_ok=True)
  stop.unlink(missing_ok=True)
  results = {run.name: {'status': 'skipped (done)'} for run in runs if run.finished()}
  todo = [run for run in runs if run.name not in results]
  print(f'Sweep {sweepdir}: {len(runs)} runs, {len(runs) - len(todo)} already done, {len(todo)} to run.', flush=True)
  interrupted = False
  if todo:
    interrupted = launch(args, sweepdir, todo, results, stop)
  print('\n' + table(runs, results), flush=True)
  failed = [name for name, r in results.items() if r['status'] not in ('done', 'skipped (done)')]
  if interrupted:
    print(f'Interrupted: re-run the same command to resume the {len(failed)} unfinished runs.')
    sys.exit(130)
  if failed:
    print(f'{len(failed)} of {len(runs)} runs failed: see their logs above.')
    sys.exit(1)


def launch(args, sweepdir, todo, results, stop):
  """Runs `todo` as Ray tasks until all end; on Ctrl-C/SIGTERM stops them. Returns True if interrupted."""
  import ray
  local = args.address is None
  os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
  init = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
  if local:
    ray.init(num_cpus=args.num_cpus or os.cpu_count(), num_gpus=None, **init)
  else:
    ray.init(address=args.address, **init)
  # On a local cluster the runs see this checkout's code, as the driver does; a remote
  # cluster's nodes run the package installed there.
  env, cwd = {}, None
  if local:
    env = {'PYTHONPATH': os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p)}
    cwd = os.getcwd()
  task = ray.remote(run_one).options(num_cpus=args.cpus_per_run, num_gpus=args.gpus_per_run, max_retries=0)
  refs = {}
  for run in todo:
    ref = task.remote(run.command(), str(run.log), str(run.status_file), str(stop), env, cwd, args.grace)
    refs[ref] = run
  previous = signal.signal(signal.SIGTERM, _raise_interrupt)
  interrupted = False
  pending = list(refs)
  try:
    while pending:
      try:
        done, pending = ray.wait(pending, timeout=1.0)
        for ref in done:
          _collect(ray, ref, refs[ref], results)
      except KeyboardInterrupt:
        if interrupted:  # A second Ctrl-C: runs are asked to exit at once.
          stop.write_text('now')
          print('Asked every run to exit now.', flush=True)
          continue
        interrupted = True
        stop.write_text('stop')
        print(f'\nStopping {len(pending)} runs (each saves a checkpoint); Ctrl-C again to make them exit now.',
              flush=True)
  finally:
    signal.signal(signal.SIGTERM, previous)
    ray.shutdown()
  return interrupted


def _raise_interrupt(signum, frame):
  raise KeyboardInterrupt


def _collect(ray, ref, run, results):
  try:
    result = ray.get(ref)
  except Exception as e:  # The task itself died (node lost, worker killed): that run failed.
    result = {'status': 'failed', 'returncode': None, 'error': str(e).splitlines()[0]}
  results[run.name] = result
  frames, score = run.progress()
  tail = f', {run.metric} {score:.3f}' if score is not None else ''
  print(f"{run.name}: {result['status']} (exit {result['returncode']}) at {frames} env frames{tail}", flush=True)


if __name__ == '__main__':
  main()
