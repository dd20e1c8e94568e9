"""Train DreamerV2 from pixels (the baseline APV is compared with).

  python dreamerv2/train.py --configs metaworld --task metaworld_reach --logdir DIR
  dreamerv2-train --configs dmc_vision --task dmc_walker_walk --logdir DIR
Re-running with the same --logdir resumes. Add `debug` to --configs for a seconds-long CPU run.
"""
import sys


def make_agent(config, act_dim, log=print):
  from dreamerv2 import agent
  return agent.Agent(config, act_dim)


def main(argv=None, make_agent=make_agent, parse=None, description=__doc__):
  # Flags first: `--help` and bad flags answer before TensorFlow loads (seconds).
  from dreamerv2 import config as config_lib
  from dreamerv2 import errors
  from dreamerv2 import interrupt
  interrupt.install()
  try:
    parse = parse or config_lib.parse
    config = parse(sys.argv[1:] if argv is None else argv, description=description)
    from dreamerv2 import run
    run.train(config, make_agent)
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
    interrupt.exit_line(e, getattr(e, 'detail', 'stopped before training started; nothing to save.'))


if __name__ == '__main__':
  import pathlib
  # From a checkout, this checkout's packages win over any installed copy.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
  main()
