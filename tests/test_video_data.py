"""Video datasets: every format, skips and their summary, streaming."""
import numpy as np
import pytest

from apv_ext import video_data
from dreamerv2.errors import UserError


def write_npz(path, frames, **extra):
  np.savez_compressed(path, image=frames, **extra)


def frames(n, h=64, w=64, seed=0):
  return np.random.default_rng(seed).integers(0, 255, (n, h, w, 3), dtype=np.uint8)


def check_batch(batch, b, t):
  assert batch['image'].shape == (b, t, 64, 64, 3) and batch['image'].dtype == np.uint8
  assert batch['is_first'][:, 0].all() and not batch['is_first'][:, 1:].any()


def test_npz_flat_and_reference_layout_without_reward(tmp_path):
  flat = tmp_path / 'flat'
  flat.mkdir()
  for i in range(3):
    write_npz(flat / f'video{i}.npz', frames(20, seed=i))  # No reward key, free-form names.
  ref = tmp_path / 'ref' / 'train_episodes'
  ref.mkdir(parents=True)
  write_npz(ref / 'ep-20.npz', frames(30, 80, 80), reward=np.zeros(30))  # Odd size: resized.
  write_npz(ref / 'ep2-20.npz', frames(30))
  for path in (flat, tmp_path / 'ref'):
    data = video_data.VideoDataset(path, length=8, batch=4, heldout=1, log=lambda *a: None)
    assert data.format == 'npz'
    check_batch(next(data.batches()), 4, 8)
    check_batch(data.validation_batch(), 4, 8)


def test_mp4_at_odd_resolution(tmp_path):
  import imageio.v3 as iio
  folder = tmp_path / 'videos'
  folder.mkdir()
  for i in range(2):
    iio.imwrite(folder / f'clip{i}.mp4', frames(16, 72, 96, seed=i), fps=10, codec='libx264', macro_block_size=1)
  data = video_data.VideoDataset(folder, length=10, batch=3, heldout=1, log=lambda *a: None)
  assert data.format == 'video' and data.num_frames == 32
  check_batch(next(data.batches()), 3, 10)


def make_rlbench(root, episodes=2, cameras=('front', 'wrist'), n=12, size=128):
  from PIL import Image
  for ep in range(episodes):
    for cam in cameras:
      folder = root / 'reach_target' / 'variation0' / 'episodes' / f'episode{ep}' / f'{cam}_rgb'
      folder.mkdir(parents=True)
      for i, frame in enumerate(frames(n, size, size, seed=ep)):
        Image.fromarray(frame).save(folder / f'{i}.png')


def test_rlbench_layout(tmp_path):
  make_rlbench(tmp_path)
  data = video_data.VideoDataset(tmp_path, length=10, batch=2, heldout=1, log=lambda *a: None)
  assert data.format == 'rlbench' and len(data.train) + len(data.valid) == 4  # 2 episodes x 2 cameras.
  check_batch(next(data.batches()), 2, 10)
  only_front = video_data.VideoDataset(tmp_path, length=10, batch=2, heldout=0, cameras=('front',),
                                       log=lambda *a: None)
  assert len(only_front.train) == 2


def test_skips_are_counted_and_named(tmp_path, recwarn):
  write_npz(tmp_path / 'good.npz', frames(20))
  write_npz(tmp_path / 'good2.npz', frames(20))
  write_npz(tmp_path / 'short.npz', frames(3))
  np.savez_compressed(tmp_path / 'noimage.npz', obs=frames(20))
  (tmp_path / 'corrupt.npz').write_bytes(b'not a zip file')
  lines = []
  data = video_data.VideoDataset(tmp_path, length=8, batch=2, heldout=1, log=lines.append)
  assert data.skipped == {'too short': 1, 'unreadable': 2}
  assert 'using 2 videos' in lines[0] and 'skipped 1 shorter than 8 frames and 2 unreadable' in lines[0]
  warned = ' '.join(str(w.message) for w in recwarn)
  assert 'corrupt.npz' in warned and 'noimage.npz' in warned


def test_empty_or_unusable_folder_is_a_one_line_error(tmp_path):
  with pytest.raises(UserError, match='No videos found'):
    video_data.VideoDataset(tmp_path, length=8, batch=2, log=lambda *a: None)
  write_npz(tmp_path / 'short.npz', frames(3))
  with pytest.raises(UserError, match='No usable videos') as info:
    video_data.VideoDataset(tmp_path, length=8, batch=2, log=lambda *a: None)
  assert '\n' not in str(info.value)


def test_streaming_decodes_videos_gradually(tmp_path, monkeypatch):
  for i in range(20):
    write_npz(tmp_path / f'v{i}.npz', frames(10, seed=i))
  loads = []
  original = video_data.NpzVideo.load
  monkeypatch.setattr(video_data.NpzVideo, 'load', lambda self, size: loads.append(self.name) or original(self, size))
  data = video_data.VideoDataset(tmp_path, length=5, batch=2, heldout=0, buffer=3, refresh=4, log=lambda *a: None)
  windows = data.windows()
  for _ in range(16):
    next(windows)
  # 3 videos fill the buffer, then one more after every 4 windows (the 16th window's
  # refresh runs when the 17th is asked for): never all 20 at once.
  assert len(loads) == 3 + 3
