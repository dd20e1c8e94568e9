"""Sweeps on Ray (see apv_ext/sweep.py): python scripts/sweep.py --tasks T --seeds 0 1 --methods dreamerv2 apv ..."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from apv_ext import sweep  # noqa: E402

if __name__ == '__main__':
  sweep.main()
