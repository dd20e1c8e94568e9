"""Replay: atomic episode files, capacity, windows, prioritize_ends, resume from disk."""
import numpy as np

from dreamerv2 import replay as replay_lib


def make_episode(length, start=0):
  return {
      'image': np.full((length + 1, 64, 64, 3), start % 255, np.uint8),
      'action': np.zeros((length + 1, 2), np.float32),
      'reward': np.arange(start, start + length + 1, dtype=np.float32),
      'is_first': np.eye(1, length + 1, 0, dtype=bool)[0],
      'is_last': np.eye(1, length + 1, length, dtype=bool)[0],
      'is_terminal': np.zeros(length + 1, bool),
  }


def test_windows_start_with_is_first(tmp_path):
  replay = replay_lib.Replay(tmp_path, capacity=1000, length=5, seed=0)
  replay.add(make_episode(20))
  for _ in range(50):
    window = replay.sample_window()
    assert window['image'].shape == (5, 64, 64, 3) and window['image'].dtype == np.uint8
    assert window['is_first'][0] and not window['is_first'][1:].any()
    assert np.all(np.diff(window['reward']) == 1)


def test_prioritize_ends_oversamples_last_window(tmp_path):
  counts = {}
  for prioritize in (False, True):
    replay = replay_lib.Replay(tmp_path / str(prioritize), capacity=1000, length=5, prioritize_ends=prioritize, seed=0)
    replay.add(make_episode(20))  # 21 entries: starts 0..16.
    starts = [int(replay.sample_window()['reward'][0]) for _ in range(4000)]
    counts[prioritize] = np.mean(np.array(starts) == 16)
  assert abs(counts[False] - 1 / 17) < 0.02
  assert abs(counts[True] - 6 / 22) < 0.03


def test_capacity_evicts_oldest_and_resume_counts_steps(tmp_path):
  replay = replay_lib.Replay(tmp_path, capacity=25, length=5, seed=0)
  for i in range(4):
    replay.add(make_episode(10, start=100 * i))
  assert len(replay) == 20 and replay.total_steps == 40 and replay.total_episodes == 4
  (tmp_path / 'junk.npz.tmp').write_bytes(b'partial')
  again = replay_lib.Replay(tmp_path, capacity=25, length=5, seed=0)
  assert again.total_steps == 40 and again.total_episodes == 4 and len(again) == 20
  assert not list(tmp_path.glob('*.tmp'))
  assert {int(again.sample_window()['reward'][0]) // 100 for _ in range(100)} == {2, 3}


def test_dataset_batches(tmp_path):
  replay = replay_lib.Replay(tmp_path, capacity=1000, length=4, seed=0)
  replay.add(make_episode(10))
  batch = next(iter(replay.dataset(3)))
  assert batch['image'].shape == (3, 4, 64, 64, 3) and batch['action'].shape == (3, 4, 2)


def test_short_episodes_are_never_sampled_and_eviction_keeps_sampling_valid(tmp_path):
  replay = replay_lib.Replay(tmp_path, capacity=30, length=8, seed=0)
  replay.add(make_episode(3, start=500))  # Too short for a window.
  for i in range(5):
    replay.add(make_episode(10, start=100 * i))
  starts = {int(replay.sample_window()['reward'][0]) // 100 for _ in range(200)}
  assert starts == {2, 3, 4}  # Only the stored long episodes: the short and the evicted never appear.
