"""Learning curves and aggregate IQM vs the paper (see apv_ext/plot.py): python scripts/plot.py SWEEPDIR --out curves.png"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from apv_ext import plot  # noqa: E402

if __name__ == '__main__':
  plot.main()
