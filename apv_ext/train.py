"""Fine-tune APV (stage 2) on Meta-world or DMC from a pre-trained video model.

  python apv_ext/train.py --configs metaworld --task metaworld_lever_pull --load_logdir PRETRAIN_DIR --logdir DIR
  apv-train --configs dmc_vision --task dmc_quadruped_walk --load_logdir PRETRAIN_DIR --logdir DIR
The same training loop as DreamerV2 (dreamerv2/run.py) with the APV agent. Re-running
with the same --logdir resumes. Ablations are named configs (e.g. --configs metaworld no_intr).
"""
import sys


def make_agent(config, act_dim, log=print):
  from apv_ext import agent
  return agent.make_agent(config, act_dim, log)


def main(argv=None):
  from apv_ext import config as apv_config
  from dreamerv2 import train as dv2_train
  # The run's label (`method`) comes from apv_ext/configs.yaml: `apv` or the ablation's.
  dv2_train.main(argv, make_agent=make_agent, parse=apv_config.parse_finetune, description=__doc__)


if __name__ == '__main__':
  import pathlib
  # From a checkout, this checkout's packages win over any installed copy.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
  main()
