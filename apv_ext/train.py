"""Fine-tune APV (stage 2) on Meta-world or DMC.

  python apv_ext/train.py --configs metaworld --task metaworld_lever_pull --load_logdir PRETRAIN_DIR --logdir DIR
The same training loop as DreamerV2 (dreamerv2/run.py) with the APV agent.
"""
import os
import sys


def make_agent(config, act_dim, log=print):
  from apv_ext import agent
  return agent.make_agent(config, act_dim, log)


def main(argv=None):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  from dreamerv2 import train as dv2_train
  argv = sys.argv[1:] if argv is None else argv
  # APV runs are labelled `apv` in scores.jsonl unless a config or flag says otherwise.
  dv2_train.main(['--method', 'apv', *argv], make_agent=make_agent)


if __name__ == '__main__':
  main()
