"""Video data: every format into the cache, skips named, resumable conversion, uniform sampling."""
import json
import pathlib
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from apv_ext import video_cache
from apv_ext import video_data
from apv_ext import video_formats
from conftest import ROOT
from dreamerv2.errors import UserError


def write_npz(path, frames, **extra):
  np.savez_compressed(path, image=frames, **extra)


def frames(n, h=64, w=64, seed=0):
  return np.random.default_rng(seed).integers(0, 255, (n, h, w, 3), dtype=np.uint8)


def dataset(path, tmp_path, length=8, batch=2, heldout=1, log=None, **kwargs):
  return video_data.VideoDataset(path, length=length, batch=batch, heldout=heldout, cache=tmp_path / 'cache',
                                 workers=1, progress=False, log=log or (lambda *a: None), **kwargs)


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
    data = dataset(path, tmp_path, batch=4)
    assert data.format == 'npz'
    check_batch(next(data.batches()), 4, 8)
    check_batch(data.validation_batch(), 4, 8)
  # Frames come out of the cache exactly as stored.
  data = dataset(flat, tmp_path, length=20, heldout=0)
  window = next(data.windows())
  assert any(np.array_equal(window, frames(20, seed=i)) for i in range(3))


def test_mp4_at_odd_resolution(tmp_path):
  import imageio.v3 as iio
  folder = tmp_path / 'videos'
  folder.mkdir()
  for i in range(2):
    iio.imwrite(folder / f'clip{i}.mp4', frames(16, 72, 96, seed=i), fps=10, codec='libx264', macro_block_size=1)
  data = dataset(folder, tmp_path, length=10, batch=3)
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
  make_rlbench(tmp_path / 'rlbench')
  data = dataset(tmp_path / 'rlbench', tmp_path, length=10)
  assert data.format == 'rlbench' and len(data.train) + len(data.valid) == 4  # 2 episodes x 2 cameras.
  check_batch(next(data.batches()), 2, 10)
  only_front = dataset(tmp_path / 'rlbench', tmp_path, length=10, heldout=0, cameras=('front',))
  assert len(only_front.train) == 2 and only_front.cache != data.cache


def test_skips_are_counted_and_named(tmp_path):
  src = tmp_path / 'src'
  src.mkdir()
  write_npz(src / 'good.npz', frames(20))
  write_npz(src / 'good2.npz', frames(20))
  write_npz(src / 'short.npz', frames(3))
  np.savez_compressed(src / 'noimage.npz', obs=frames(20))
  (src / 'corrupt.npz').write_bytes(b'not a zip file')
  lines = []
  data = dataset(src, tmp_path, log=lines.append)
  assert data.skipped == {'too short': 1, 'unreadable': 2}
  text = '\n'.join(lines)
  assert 'using 2 videos' in text and 'skipped 1 shorter than 8 frames and 2 unreadable' in text
  assert 'corrupt.npz (unreadable npz' in text and "noimage.npz (no 'image' array" in text and 'short.npz' in text
  listed = (data.cache / 'skipped.txt').read_text()
  assert 'corrupt.npz: unreadable npz' in listed and 'noimage.npz' in listed


def test_decode_errors_in_videos_and_frames_count_as_unreadable(tmp_path):
  import imageio.v3 as iio
  videos = tmp_path / 'videos'
  videos.mkdir()
  iio.imwrite(videos / 'good.mp4', frames(12), fps=10, codec='libx264', macro_block_size=1)
  (videos / 'bad.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42 and then nothing')
  data = dataset(videos, tmp_path, heldout=0)
  assert data.skipped == {'too short': 0, 'unreadable': 1}
  make_rlbench(tmp_path / 'rl', episodes=2, cameras=('front',), n=10, size=16)
  png = tmp_path / 'rl' / 'reach_target' / 'variation0' / 'episodes' / 'episode1' / 'front_rgb' / '3.png'
  png.write_bytes(png.read_bytes()[:40])  # Truncated.
  lines = []
  data = dataset(tmp_path / 'rl', tmp_path, heldout=0, log=lines.append)
  assert data.skipped == {'too short': 0, 'unreadable': 1} and 'episode1/front_rgb (unreadable' in '\n'.join(lines)


def test_empty_or_unusable_folder_is_a_one_line_error(tmp_path):
  src = tmp_path / 'src'
  src.mkdir()
  with pytest.raises(UserError, match='No videos found'):
    dataset(src, tmp_path)
  write_npz(src / 'short.npz', frames(3))
  with pytest.raises(UserError, match='No usable videos') as info:
    dataset(src, tmp_path)
  assert '\n' not in str(info.value)


def png16(path, image):
  """A 16-bit PNG (Pillow cannot write 16-bit RGB): image uint16 [H, W, C], C in 1, 3, 4."""
  h, w, c = image.shape
  raw = b''.join(b'\x00' + image[y].astype('>u2').tobytes() for y in range(h))
  chunk = lambda kind, data: (struct.pack('>I', len(data)) + kind + data +
                              struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
  header = struct.pack('>IIBBBBB', w, h, 16, {1: 0, 3: 2, 4: 6}[c], 0, 0, 0)
  path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw)) +
                   chunk(b'IEND', b''))


BASE = frames(10)
GRAY = BASE[..., :1]
LAYOUTS = {  # name: (array, expected RGB uint8)
    'uint8_nhwc3': (BASE, BASE),
    'uint8_nhwc1': (GRAY, np.repeat(GRAY, 3, -1)),
    'uint8_nhw': (GRAY[..., 0], np.repeat(GRAY, 3, -1)),
    'uint8_nhwc4': (np.concatenate([BASE, GRAY], -1), BASE),
    'uint8_nchw3': (BASE.transpose(0, 3, 1, 2), BASE),
    'uint8_nchw1': (GRAY.transpose(0, 3, 1, 2), np.repeat(GRAY, 3, -1)),
    'uint8_nchw4': (np.concatenate([BASE, GRAY], -1).transpose(0, 3, 1, 2), BASE),
    'uint16_nhwc3': (BASE.astype(np.uint16) * 257, BASE),
    'uint16_nchw1': (GRAY.transpose(0, 3, 1, 2).astype(np.uint16) * 257, np.repeat(GRAY, 3, -1)),
    'float32_unit': (BASE.astype(np.float32) / 255, BASE),
    'float64_255': (BASE.astype(np.float64), BASE),
    'int64_255': (BASE.astype(np.int64), BASE),
}
BAD = {  # name: (array, reason)
    'float_nan': (np.full((10, 64, 64, 3), np.nan, np.float32), 'NaN'),
    'float_range': (BASE.astype(np.float32) * 2 + 1, 'float pixel values in'),
    'int_range': (BASE.astype(np.int32) * 300, 'int32 pixel values in'),
    'bool': (BASE > 100, 'unsupported dtype bool'),
    'two_channels': (BASE[..., :2], 'unsupported shape'),
    'five_dims': (BASE[None], 'unsupported shape'),
    'ambiguous': (BASE[:, :3, :3, :], 'ambiguous shape'),
}


def test_every_image_dtype_and_layout_converts_or_is_skipped_with_reason(tmp_path):
  src = tmp_path / 'src'
  src.mkdir()
  for name, (array, _) in {**LAYOUTS, **BAD}.items():
    write_npz(src / f'{name}.npz', array)
  np.savez(src / 'pickled.npz', image=np.array([object()] * 10, dtype=object))
  good = tmp_path / 'good.npz'
  write_npz(good, BASE)
  data = bytearray(good.read_bytes())
  data[len(data) // 2: len(data) // 2 + 64] = bytes(64)  # Fails only when decompressed.
  (src / 'bad_data.npz').write_bytes(bytes(data))
  out = tmp_path / 'cache'
  index = video_cache.build(src, out, workers=1, progress=False, log=lambda *a: None)
  shards = {n: np.load(out / s['file']) for n, s in index['shards'].items()}
  converted = {v['key']: shards[v['shard']][v['offset']: v['offset'] + v['length']] for v in index['videos']}
  assert sorted(converted) == sorted(f'{n}.npz' for n in LAYOUTS)
  for name, (_, expected) in LAYOUTS.items():
    np.testing.assert_array_equal(converted[f'{name}.npz'], expected, err_msg=name)
  reasons = {s['key']: s['reason'] for s in index['skipped']}
  assert sorted(reasons) == sorted([f'{n}.npz' for n in BAD] + ['pickled.npz', 'bad_data.npz'])
  for name, (_, reason) in BAD.items():
    assert reason in reasons[f'{name}.npz'], (name, reasons[f'{name}.npz'])
  assert reasons['pickled.npz'].startswith('unreadable npz') and reasons['bad_data.npz'].startswith('unreadable npz')


def test_16bit_and_gray_png_frames(tmp_path):
  for cam, image in (('front', BASE[:4].astype(np.uint16) * 257), ('wrist', GRAY[:4].astype(np.uint16) * 257)):
    folder = tmp_path / 'rl' / 'task' / 'variation0' / 'episodes' / 'episode0' / f'{cam}_rgb'
    folder.mkdir(parents=True)
    for i, frame in enumerate(image):
      png16(folder / f'{i}.png', frame)
  index = video_cache.build(tmp_path / 'rl', tmp_path / 'cache', workers=1, progress=False, log=lambda *a: None)
  assert not index['skipped']
  shard = np.load(tmp_path / 'cache' / 'shard-00000.npy')
  got = {v['key'].split('/')[-1]: shard[v['offset']: v['offset'] + v['length']] for v in index['videos']}
  np.testing.assert_array_equal(got['front_rgb'], BASE[:4])
  np.testing.assert_array_equal(got['wrist_rgb'], np.repeat(GRAY[:4], 3, -1))


def marked_videos(root, count, length=30, seed=0):
  """Videos whose every pixel holds their own number: the video of any window can be read off it."""
  root.mkdir(parents=True)
  rng = np.random.default_rng(seed)
  for i in range(count):
    write_npz(root / f'v{i:03d}.npz', np.full((int(rng.integers(length, 2 * length)), 8, 8, 3), i, np.uint8))
  return root


@pytest.fixture(scope='module')
def uniform_data(tmp_path_factory):
  tmp = tmp_path_factory.mktemp('uniform')
  src = marked_videos(tmp / 'src', 240)
  return video_data.VideoDataset(src, 25, 16, heldout=0, prioritize_ends=True, cache=tmp / 'cache', workers=1,
                                 progress=False, log=lambda *a: None)


def test_windows_draw_videos_uniformly(uniform_data):
  from scipy import stats
  batches = uniform_data.batches()
  counts = np.zeros(240)
  for _ in range(1000):
    batch = next(batches)['image']
    ids = batch[:, 0, 0, 0, 0]
    assert (batch == ids[:, None, None, None, None]).all()  # A window never mixes videos.
    np.add.at(counts, ids, 1)
  # Uniform over videos although their lengths differ 2x (a frame-uniform draw would fail).
  assert stats.chisquare(counts).pvalue > 1e-3


def test_consecutive_batches_share_no_more_videos_than_uniform(uniform_data):
  batches = uniform_data.batches()
  sets = [set(next(batches)['image'][:, 0, 0, 0, 0]) for _ in range(600)]
  shared = np.mean([len(a & b) for a, b in zip(sets, sets[1:])])
  expected = 240 * (1 - (239 / 240) ** 16) ** 2  # Sum over videos of P(in one batch)^2: ~1.0.
  assert shared < expected + 0.25, (shared, expected)


def test_window_starts_follow_the_replay_rule(tmp_path):
  src = tmp_path / 'src'
  src.mkdir()
  write_npz(src / 'ramp.npz', np.arange(40, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8))
  for ends, last in ((False, 1 / 31), (True, 11 / 41)):
    data = dataset(src, tmp_path, length=10, heldout=0, prioritize_ends=ends)
    windows = data.windows()
    starts = np.array([next(windows)[0, 0, 0, 0] for _ in range(4000)])
    assert starts.min() == 0 and starts.max() == 30
    # prioritize_ends: the start range is extended by the window length and clipped (spec, replay).
    assert abs(np.mean(starts == 30) - last) < 0.02, (ends, np.mean(starts == 30))


def test_killed_conversion_resumes_to_the_same_index(tmp_path, monkeypatch):
  src = marked_videos(tmp_path / 'src', 12, length=10)
  (src / 'broken.npz').write_bytes(b'junk')
  fresh = video_cache.build(src, tmp_path / 'fresh', workers=1, progress=False, shard_frames=40, log=print)
  assert len(fresh['shards']) > 3
  written, write_shard = [], video_cache._write_shard

  def killed_after_two(path, videos):
    if len(written) == 2:
      path.with_name(path.name + '.tmp').write_bytes(b'half a shard')
      raise KeyboardInterrupt('killed')
    written.append(path)
    write_shard(path, videos)

  monkeypatch.setattr(video_cache, '_write_shard', killed_after_two)
  out = tmp_path / 'resumed'
  with pytest.raises(KeyboardInterrupt):
    video_cache.build(src, out, workers=1, progress=False, shard_frames=40, log=print)
  assert not (out / 'index.json').exists() and len(list(out.glob('shard-*.npy'))) == 2
  monkeypatch.setattr(video_cache, '_write_shard', write_shard)
  lines = []
  resumed = video_cache.build(src, out, workers=1, progress=False, shard_frames=40, log=lines.append)
  kept = [json.loads(p.read_text()) for p in sorted(out.glob('shard-*.json'))[:2]]
  assert f'converting {13 - sum(len(m["videos"]) + len(m["skipped"]) for m in kept)} of 13 videos' in lines[0]
  assert {k: v for k, v in resumed.items() if k != 'settings'} == {k: v for k, v in fresh.items() if k != 'settings'}
  assert not list(out.glob('*.tmp'))
  for name, shard in fresh['shards'].items():
    np.testing.assert_array_equal(np.load(tmp_path / 'fresh' / shard['file']), np.load(out / shard['file']))


def test_parallel_conversion_builds_the_same_index(tmp_path):
  src = marked_videos(tmp_path / 'src', 6, length=10)
  one = video_cache.build(src, tmp_path / 'one', workers=1, progress=False, shard_frames=30, log=print)
  two = video_cache.build(src, tmp_path / 'two', workers=2, progress=False, shard_frames=30, log=print)
  assert one['videos'] == two['videos'] and one['shards'] == two['shards']


def test_added_removed_and_modified_sources_are_indexed_again(tmp_path):
  src = marked_videos(tmp_path / 'src', 6, length=10)
  lines = []
  first = dataset(src, tmp_path, length=5)
  again = dataset(src, tmp_path, length=5, log=lines.append)
  assert not any('converting' in line for line in lines) and again.identity == first.identity
  write_npz(src / 'v000.npz', np.full((50, 8, 8, 3), 200, np.uint8))  # Modified: other content and length.
  (src / 'v001.npz').unlink()
  write_npz(src / 'new.npz', np.full((7, 8, 8, 3), 100, np.uint8))
  lines.clear()
  index = video_cache.build(src, first.cache, workers=1, progress=False, log=lines.append)
  assert 'converting 2 of 6 videos' in lines[0]
  keys = {v['key']: v for v in index['videos']}
  assert sorted(keys) == ['new.npz', 'v000.npz', 'v002.npz', 'v003.npz', 'v004.npz', 'v005.npz']
  assert keys['v000.npz']['length'] == 50 and keys['v000.npz']['shard'] != keys['v002.npz']['shard']
  data = dataset(src, tmp_path, length=5, heldout=0)
  seen = {int(w[0, 0, 0, 0]) for w, _ in zip(data.windows(), range(300))}
  assert seen == {100, 200, 2, 3, 4, 5}
  with pytest.raises(UserError, match='allow_new_data'):
    video_data.check_identity(first.identity, data.identity)
  video_data.check_identity(first.identity, data.identity, allow_new_data=True)
  video_data.check_identity(data.identity, data.identity)


def test_prepare_command_and_a_cache_folder_as_the_dataset(tmp_path):
  src = marked_videos(tmp_path / 'src', 3, length=10)
  out = subprocess.run([sys.executable, '-m', 'apv_ext.prepare_videos', str(src), '--out', str(tmp_path / 'c'),
                        '--workers', '2'], capture_output=True, text=True, cwd=ROOT, timeout=120)
  assert out.returncode == 0, out.stderr
  assert '3 videos' in out.stdout
  folder = video_cache.cache_dir(src, tmp_path / 'c')
  assert str(folder) in out.stdout
  data = video_data.VideoDataset(folder, 5, 2, heldout=0, log=lambda *a: None)  # The cache folder alone.
  assert data.cache == folder and data.identity['path'] == str(src.resolve())
  bad = subprocess.run([sys.executable, '-m', 'apv_ext.prepare_videos', str(tmp_path / 'nope')],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
  assert bad.returncode == 2 and bad.stderr.startswith('error: Video dataset') and bad.stderr.count('\n') == 1


def test_to_rgb8_rejects_what_it_cannot_read():
  with pytest.raises(video_formats.BadVideo, match='ambiguous'):
    video_formats.to_rgb8(np.zeros((2, 3, 5, 3), np.uint8))  # [N, 3, H, 3]: channels first or last?
  np.testing.assert_array_equal(video_formats.to_rgb8(np.zeros((2, 3, 5, 7), np.uint8)),
                                np.zeros((2, 5, 7, 3), np.uint8))


def test_dmc_default_collection_pretraining_and_dataset_identity(entry, tmp_path):
  """dmc_vision_pretrain without a dataset collects walker + cheetah once; resuming on other data fails."""
  args = ['apv_ext/train_video.py', '--configs', 'dmc_vision_pretrain', 'debug', '--video.cache', tmp_path / 'cache',
          '--logdir', tmp_path / 'pre', '--eval_every', '2', '--log_every', '2', '--log_videos', 'False']
  out = entry(*args, '--steps', '2')
  assert 'Collecting the default DMC pre-training videos' in out.stdout
  folders = list((tmp_path / 'cache').glob('dmc-walker_walk+cheetah_run-*'))
  assert len(folders) == 1 and (folders[0] / 'complete').exists()
  for task in ('walker_walk', 'cheetah_run'):
    video = np.load(folders[0] / f'{task}-0.npz')['image']
    assert video.shape == (21, 64, 64, 3) and np.abs(np.diff(video.astype(int), axis=0)).mean() > 0.5  # It moves.
  other = marked_videos(tmp_path / 'other', 3, length=20)
  resumed = entry(*args, '--load_logdir', other, '--steps', '4', check=False)
  assert resumed.returncode == 2 and 'allow_new_data' in resumed.stderr, resumed.stderr[-2000:]


def test_cache_root_from_flag_then_env_then_home(monkeypatch, tmp_path):
  monkeypatch.setenv('APV_CACHE', str(tmp_path / 'env'))
  assert video_cache.default_root('') == tmp_path / 'env'
  assert video_cache.default_root(str(tmp_path / 'flag')) == tmp_path / 'flag'
  assert video_cache.cache_dir(tmp_path, '').parent == tmp_path / 'env' / 'videos'
  monkeypatch.delenv('APV_CACHE')
  assert video_cache.default_root('') == pathlib.Path('~/.cache/apv').expanduser()
