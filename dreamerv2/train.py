"""Train DreamerV2: python dreamerv2/train.py --configs metaworld --task metaworld_reach --logdir DIR

Heavy imports happen inside main(): environment workers are fresh interpreters,
but keeping this module light also keeps `--help` and bad-flag errors instant.
"""
import os
import sys


def make_agent(config, act_dim, log=print):
  from dreamerv2 import agent
  return agent.Agent(config, act_dim)


def main(argv=None, make_agent=make_agent, parse=None):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  from dreamerv2 import config as config_lib
  from dreamerv2 import errors
  from dreamerv2 import run
  try:
    parse = parse or config_lib.parse
    config = parse(sys.argv[1:] if argv is None else argv)
    run.train(config, make_agent)
  except errors.UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  main()
