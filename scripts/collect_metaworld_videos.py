"""Collect expert videos of Meta-world tasks for action-free pre-training.

  python scripts/collect_metaworld_videos.py --out ~/data/mw_videos --episodes 10
The same as `python -m apv_ext.collect` (see there for the options).
"""
import pathlib
import sys

if __name__ == '__main__':
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
  from apv_ext import collect
  collect.run()
