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
  from apv_ext import config as apv_config
  from dreamerv2 import train as dv2_train
  # The run's label (`method`) comes from apv_ext/configs.yaml: `apv` or the ablation's.
  dv2_train.main(argv, make_agent=make_agent, parse=apv_config.parse_finetune)


if __name__ == '__main__':
  main()
