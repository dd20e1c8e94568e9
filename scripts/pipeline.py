"""The whole APV pipeline on the embedded default, sized for a laptop CPU.

  python scripts/pipeline.py --logdir logs/quickstart
1. collects expert videos of 8 Meta-world tasks (once, into $APV_CACHE or ~/.cache/apv),
2. pre-trains the action-free video model on them (apv_ext/train_video.py),
3. fine-tunes APV on a task the videos do not show (apv_ext/train.py).
Re-running resumes each stage. --configs swaps the size preset (default: small).
"""
import argparse
import pathlib
import signal
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_stage(cmd):
  """Runs one stage; Ctrl-C/SIGTERM are passed to it once, so it saves and exits with its one line.

  The stage has its own session: a terminal's Ctrl-C reaches only this process, which
  forwards it (otherwise the stage would get it twice, the second meaning "exit at once").
  """
  proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
  forward = lambda signum, frame: proc.send_signal(signum)
  previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    return proc.wait()
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--logdir', default='logs/quickstart')
  parser.add_argument('--task', default='metaworld_reach', help='fine-tuning task (not in the default videos)')
  parser.add_argument('--configs', nargs='*', default=['small'])
  parser.add_argument('--pretrain_steps', type=int, default=500, help='pre-training updates')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  logdir = pathlib.Path(args.logdir).expanduser().resolve()
  pre, fine = logdir / 'pretrain', logdir / 'finetune'
  common = ['--seed', str(args.seed)]
  stages = [
      ('Pre-training on the default Meta-world videos',
       ['apv_ext/train_video.py', '--configs', 'metaworld_pretrain', *args.configs, '--steps',
        str(args.pretrain_steps), '--eval_every', '100', '--save_every', '100', '--logdir', str(pre), *common]),
      (f'Fine-tuning APV on {args.task}',
       ['apv_ext/train.py', '--configs', 'metaworld', *args.configs, '--task', args.task, '--load_logdir', str(pre),
        '--logdir', str(fine), *common]),
  ]
  for title, cmd in stages:
    print(f'\n=== {title} ===\n$ python {" ".join(cmd)}', flush=True)
    code = run_stage([sys.executable, *cmd])
    if code:
      sys.exit(code)
  print(f'''
=== Done ===
Pre-training logs:  {pre}  (open-loop predictions: {pre / "videos"})
Fine-tuning logs:   {fine}
Scores per eval:    {fine / "scores.jsonl"}
Videos:             {fine / "videos"}  (eval episodes and open-loop predictions)
TensorBoard:        tensorboard --logdir {logdir}''')


if __name__ == '__main__':
  main()
