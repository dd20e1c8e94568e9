"""Convert a video dataset into the video cache ahead of training.

  python -m apv_ext.prepare_videos SRC [--out DIR] [--workers N]
SRC is a folder of .npz files (or a dreamerv2 run), video files or an RLBench dataset.
DIR is the cache root (default $APV_CACHE, else ~/.cache/apv), the same as pre-training's --video.cache;
pre-training on SRC then finds the cache, and the cache folder printed at the end can be
given to --load_logdir on its own (e.g. copied to another machine without SRC).
Re-running converts only added or modified videos; a killed run continues where it stopped.
"""
import argparse
import sys

from apv_ext import video_cache
from apv_ext import video_formats
from dreamerv2.errors import UserError


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('source')
  parser.add_argument('--out', default='', help='cache root (default $APV_CACHE, else ~/.cache/apv)')
  parser.add_argument('--workers', type=int, default=0, help='decoding processes (default: all cores)')
  parser.add_argument('--format', default='auto', choices=['auto', 'npz', 'video', 'rlbench'])
  parser.add_argument('--cameras', nargs='*', default=list(video_formats.RLBENCH_CAMERAS), help='RLBench cameras')
  parser.add_argument('--size', type=int, default=64, help='frame side in pixels')
  args = parser.parse_args(argv)
  if args.workers < 0 or args.size <= 0:
    sys.exit(f'error: --workers must be >= 0 and --size > 0 (got {args.workers}, {args.size})')
  try:
    out, index = video_cache.prepare(args.source, args.out, args.format, tuple(args.cameras), args.size,
                                     args.workers)
  except UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  frames = sum(v['length'] for v in index['videos'])
  print(f'Video cache {out}: {len(index["videos"])} videos, {frames} frames of {args.size}x{args.size}, '
        f'{len(index["skipped"])} skipped (listed in {out / "skipped.txt"}).')
  for skip in index['skipped'][:5]:
    print(f'  skipped {skip["key"]}: {skip["reason"]}')


if __name__ == '__main__':
  main()
