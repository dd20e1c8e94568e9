"""Evaluate a run's checkpoint (see apv_ext/evaluate.py): python scripts/evaluate.py --logdir RUN [--episodes N] [--video]"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from apv_ext import evaluate  # noqa: E402

if __name__ == '__main__':
  evaluate.main()
