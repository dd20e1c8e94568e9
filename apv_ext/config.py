"""APV's configs: `apv_ext/configs.yaml` layered over DreamerV2's (see dreamerv2/config.py)."""
import pathlib

from dreamerv2 import config as dv2_config

CONFIGS = pathlib.Path(__file__).resolve().parent / 'configs.yaml'
LAYERS = (dv2_config.CONFIGS, CONFIGS)


def load_layers():
  return dv2_config.load_layers(LAYERS)


def describe():
  return dv2_config.describe(LAYERS)


def parse(argv, description=''):
  return dv2_config.parse(argv, LAYERS, description)


def parse_finetune(argv, description=''):
  """Parses a fine-tuning command line; a run with no weights to load is refused up front."""
  from dreamerv2.errors import UserError
  config = parse(argv, description)
  if config.apv.load_pretrained and not config.load_logdir:
    raise UserError('Fine-tuning needs pre-trained weights: pass --load_logdir PRETRAIN_LOGDIR '
                    '(from apv_ext/train_video.py), or add the from_scratch config to train without them.')
  return config
