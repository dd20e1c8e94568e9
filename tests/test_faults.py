"""Faults: damaged checkpoints, two writers, signals, bad episodes, cut result lines, bad config values."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT
from dreamerv2 import jsonl
from dreamerv2 import lock as lock_lib
from dreamerv2 import replay as replay_lib
from apv_ext import results
from dreamerv2.errors import UserError

TRAIN = 'dreamerv2/train.py'
ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}


# Checkpoints.

def make_ckpt(directory, value, logs):
  import tensorflow as tf
  from dreamerv2 import checkpoint as ckpt_lib
  module = tf.Module()
  module.v = tf.Variable(np.full(4, value, np.float32))
  return module, ckpt_lib.Checkpoint(directory, keep=5, log=logs.append, model=module)


def save_three(directory):
  module, ckpt = make_ckpt(directory, 0.0, [])
  for n in (1, 2, 3):
    module.v.assign(np.full(4, n, np.float32))
    ckpt.save(n, {'updates': n})


DAMAGE = {
    'truncated data': lambda p: p.joinpath('variables.data-00000-of-00001').write_bytes(
        p.joinpath('variables.data-00000-of-00001').read_bytes()[:5]),
    'bad index': lambda p: p.joinpath('variables.index').write_bytes(b'not an index'),
    'flipped bytes (checksum)': lambda p: p.joinpath('variables.data-00000-of-00001').write_bytes(
        bytes(b ^ 0xFF for b in p.joinpath('variables.data-00000-of-00001').read_bytes())),
    'empty extra.json': lambda p: p.joinpath('extra.json').write_text(''),
    'missing folder': lambda p: __import__('shutil').rmtree(p),
}


@pytest.mark.parametrize('damage', list(DAMAGE))
def test_load_walks_back_to_the_newest_intact_checkpoint(tmp_path, damage):
  save_three(tmp_path)
  newest = tmp_path / 'ckpt-000000000003'
  DAMAGE[damage](newest)
  logs = []
  module, ckpt = make_ckpt(tmp_path, -1.0, logs)
  extra = ckpt.load()
  assert extra == {'updates': 2}
  np.testing.assert_array_equal(module.v.numpy(), np.full(4, 2.0))
  if damage != 'missing folder':
    assert any('ckpt-000000000003 is unusable' in line for line in logs), logs
    # Kept for inspection, out of the way of pruning and of the next save's number.
    assert not newest.exists() and list((tmp_path / 'skipped').glob('ckpt-000000000003-*'))
  assert (tmp_path / 'latest').read_text() == 'ckpt-000000000002'


def test_missing_latest_pointer_still_resumes(tmp_path):
  save_three(tmp_path)
  (tmp_path / 'latest').unlink()
  module, ckpt = make_ckpt(tmp_path, -1.0, [])
  assert ckpt.load() == {'updates': 3}


def test_no_usable_checkpoint_is_an_error_and_nothing_is_deleted(tmp_path):
  save_three(tmp_path)
  for n in (1, 2, 3):
    (tmp_path / f'ckpt-00000000000{n}' / 'extra.json').write_text('{')
  before = sorted(p.name for p in tmp_path.rglob('*'))
  module, ckpt = make_ckpt(tmp_path, -1.0, [])
  with pytest.raises(UserError, match='No usable checkpoint') as info:
    ckpt.load()
  assert '\n' not in str(info.value) and 'ckpt-000000000001: JSONDecodeError' in str(info.value)
  assert sorted(p.name for p in tmp_path.rglob('*')) == before
  # A pointer without any checkpoint folder is an error too, not a fresh start.
  for n in (1, 2, 3):
    __import__('shutil').rmtree(tmp_path / f'ckpt-00000000000{n}')
  with pytest.raises(UserError, match='holds no checkpoint folder'):
    ckpt.load()


def test_interrupted_saves_are_cleaned_on_start(tmp_path):
  save_three(tmp_path)
  (tmp_path / 'ckpt-000000000004.tmp').mkdir()
  (tmp_path / 'latest.tmp').write_text('ckpt-000000000004')
  logs = []
  module, ckpt = make_ckpt(tmp_path, -1.0, logs)
  ckpt.clean()
  assert not list(tmp_path.glob('*.tmp')) and len(logs) == 2
  assert ckpt.load() == {'updates': 3}


# One writer per logdir.

def test_second_writer_is_refused_naming_the_pid(tmp_path):
  holder = subprocess.Popen([sys.executable, '-c', (
      'import sys, time; from dreamerv2 import lock; l = lock.LogdirLock(sys.argv[1]).acquire(); '
      'print("locked", flush=True); time.sleep(60)'), str(tmp_path)], stdout=subprocess.PIPE, env=ENV, cwd=ROOT)
  try:
    assert holder.stdout.readline().strip() == b'locked'
    with pytest.raises(UserError) as info:
      lock_lib.LogdirLock(tmp_path).acquire()
    assert f'in use by pid {holder.pid} on host {socket.gethostname()}' in str(info.value)
    assert '\n' not in str(info.value)
  finally:
    holder.kill()
    holder.wait()
  # The holder was killed without releasing: its lock is stale and taken over, with a message.
  logs = []
  taken = lock_lib.LogdirLock(tmp_path, log=logs.append).acquire()
  assert len(logs) == 1 and f'stale lock' in logs[0] and str(holder.pid) in logs[0]
  assert json.loads((tmp_path / 'lock').read_text())['pid'] == os.getpid()
  taken.release()
  again = []
  lock_lib.LogdirLock(tmp_path, log=again.append).acquire().release()
  assert not again, 'a cleanly released lock is not stale'


def test_second_training_process_on_one_logdir_is_refused(entry, tmp_path):
  logdir = tmp_path / 'run'
  logdir.mkdir()
  with lock_lib.LogdirLock(logdir):
    proc = entry(TRAIN, '--configs', 'debug', '--logdir', logdir, check=False)
  assert proc.returncode == 2 and 'Traceback' not in proc.stderr
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and f'in use by pid {os.getpid()}' in errors[0], proc.stderr[-2000:]
  assert not (logdir / 'train_episodes').exists()


# Signals.

def wait_for(predicate, proc, timeout=300):
  deadline = time.time() + timeout
  while time.time() < deadline and proc.poll() is None and not predicate():
    time.sleep(0.2)
  assert proc.poll() is None, proc.stderr.read().decode()[-3000:]


def test_ctrl_c_saves_exits_quietly_and_resumes(tmp_path):
  logdir = tmp_path / 'run'
  cmd = [sys.executable, str(ROOT / TRAIN), '--configs', 'debug', '--steps', '500', '--save_every', '100000',
         '--eval_every', '100000', '--log_videos', 'False', '--logdir', str(logdir)]
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
  wait_for(lambda: len(list((logdir / 'train_episodes').glob('*.npz'))) >= 3, proc)
  proc.send_signal(signal.SIGINT)
  out, err = proc.communicate(timeout=120)
  err = err.decode()
  assert proc.returncode == 130, err[-3000:]
  assert 'Traceback' not in err and 'KeyboardInterrupt' not in err, err[-3000:]
  lines = [line for line in err.splitlines() if line.startswith('Interrupted')]
  assert len(lines) == 1 and 'checkpoint saved' in lines[0], err[-2000:]
  saved = json.loads((logdir / 'checkpoint' / (logdir / 'checkpoint' / 'latest').read_text() / 'extra.json').read_text())
  assert saved['updates'] >= 2  # The warm-up (2 updates) ran before the signal.
  assert (logdir / 'lock').read_text() == ''  # Released.
  again = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=600)
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'Resumed from checkpoint' in again.stdout and 'Warm-up' not in again.stdout


def test_sigterm_in_pretraining_saves_and_exits_143(tmp_path):
  videos = tmp_path / 'videos'
  videos.mkdir()
  rng = np.random.default_rng(0)
  for i in range(4):
    np.savez_compressed(videos / f'v{i}.npz', image=rng.integers(0, 255, (30, 64, 64, 3), dtype=np.uint8))
  logdir = tmp_path / 'pre'
  cmd = [sys.executable, str(ROOT / 'apv_ext' / 'train_video.py'), '--configs', 'metaworld_pretrain', 'debug',
         '--load_logdir', str(videos), '--video.cache', str(tmp_path / 'cache'), '--video.workers', '1',
         '--steps', '100000', '--log_every', '1', '--eval_every', '100000', '--save_every', '100000',
         '--log_videos', 'False', '--logdir', str(logdir)]
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
  wait_for(lambda: (logdir / 'metrics.jsonl').exists() and '"train/' in (logdir / 'metrics.jsonl').read_text(), proc)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=120)
  err = err.decode()
  assert proc.returncode == 143 and 'Traceback' not in err, err[-3000:]
  line = [line for line in err.splitlines() if line.startswith('Interrupted (SIGTERM)')]
  assert len(line) == 1 and 'checkpoint saved at' in line[0], err[-2000:]
  saved = json.loads((logdir / 'checkpoint' / (logdir / 'checkpoint' / 'latest').read_text() / 'extra.json').read_text())
  assert saved['updates'] >= 1


def test_second_ctrl_c_exits_at_once(tmp_path):
  script = ('import time; from dreamerv2 import interrupt; interrupt.install()\n'
            'with interrupt.deferred():\n'
            '  print("ready", flush=True)\n'
            '  time.sleep(60)\n')
  proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                          cwd=ROOT)
  assert proc.stdout.readline().strip() == b'ready'
  proc.send_signal(signal.SIGINT)
  time.sleep(0.5)
  assert proc.poll() is None  # The first one waits for a safe point.
  proc.send_signal(signal.SIGINT)
  _, err = proc.communicate(timeout=10)
  assert proc.returncode == 130 and 'SIGINT again: exiting now' in err.decode() and b'Traceback' not in err


def test_ctrl_c_after_the_run_finished_exits_at_once():
  script = ('import time; from dreamerv2 import interrupt; interrupt.install(); interrupt.done()\n'
            'print("ready", flush=True)\n'
            'time.sleep(60)\n')
  proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                          cwd=ROOT)
  assert proc.stdout.readline().strip() == b'ready'
  proc.send_signal(signal.SIGINT)
  _, err = proc.communicate(timeout=10)
  assert proc.returncode == 130 and err.decode().strip() == 'SIGINT after the run finished: exiting now.'


def test_env_worker_ignores_terminal_ctrl_c(tmp_path):
  from dreamerv2.envs import parallel
  env = parallel.BatchEnv('dummy', {'name': 'image', 'size': (64, 64), 'action_repeat': 1, 'fast_render': True,
                                    'length': 5}, [0], 'env')
  try:
    worker = env.workers[0]._proc
    assert os.getsid(worker.pid) != os.getsid(0)  # Not in the terminal's session: Ctrl-C does not reach it.
    worker.send_signal(signal.SIGINT)  # Even sent directly, it is ignored.
    obs = env.step(np.zeros((1, 2)))
    assert obs[0]['is_first']
  finally:
    env.close()


# Replay and results files.

def episode(steps, size=64, **drop):
  ep = {'image': np.zeros((steps + 1, size, size, 3), np.uint8), 'action': np.zeros((steps + 1, 2), np.float32),
        'reward': np.zeros(steps + 1, np.float32), 'is_first': np.eye(steps + 1, dtype=bool)[0],
        'is_last': np.eye(steps + 1, dtype=bool)[-1], 'is_terminal': np.zeros(steps + 1, bool)}
  return {k: v for k, v in ep.items() if k not in drop}


def test_bad_episodes_are_quarantined_and_the_rest_loads(tmp_path):
  good = [replay_lib.save_episode(tmp_path, episode(10)) for _ in range(3)]
  truncated = replay_lib.save_episode(tmp_path, episode(10))
  truncated.write_bytes(truncated.read_bytes()[:200])
  no_reward = replay_lib.save_npz(tmp_path / '20260101T000000000000-noreward-10.npz', **episode(10, reward=True))
  other_size = replay_lib.save_episode(tmp_path, episode(10, size=96))
  garbage = tmp_path / 'foreign.npz'
  garbage.write_bytes(b'not a zip file')
  logs = []
  replay = replay_lib.Replay(tmp_path, 1000, 5, seed=0, image_shape=(64, 64, 3), log=logs.append)
  assert replay.total_episodes == 3 and replay.total_steps == 30 and len(replay) == 30
  assert sorted(p.name for p in tmp_path.glob('*.npz')) == sorted(p.name for p in good)
  quarantined = {p.name for p in (tmp_path / 'quarantine').glob('*.npz')}
  assert quarantined == {truncated.name, no_reward.name, other_size.name, garbage.name}
  text = '\n'.join(logs)
  assert f'{truncated.name}' in text and 'unreadable' in text
  assert f'{no_reward.name}' in text and 'no reward key' in text
  assert 'uint8 [96, 96, 3], this run uses uint8 [64, 64, 3]' in text
  assert len((tmp_path / 'quarantine' / 'reasons.txt').read_text().splitlines()) == 4
  assert replay.sample_window()['image'].shape == (5, 64, 64, 3)


def test_cut_last_line_is_repaired_or_moved_aside(tmp_path):
  path = tmp_path / 'scores.jsonl'
  path.write_text('{"step": 1}\n{"step": 2}')  # Valid, only the line end is missing.
  assert jsonl.repair(path, log=lambda m: None) == 'repaired'
  assert path.read_text() == '{"step": 1}\n{"step": 2}\n'
  path.write_text('{"step": 1}\n{"step": 2, "ret')
  assert jsonl.repair(path, log=lambda m: None) == 'moved'
  assert path.read_text() == '{"step": 1}\n'
  assert '{"step": 2, "ret' in (tmp_path / 'scores.jsonl.partial').read_text()
  jsonl.append(path, {'step': 3})
  assert jsonl.read(path)[0] == [{'step': 1}, {'step': 3}]
  assert jsonl.repair(path) is None


def scores_file(path, steps, seed=0):
  path.parent.mkdir(parents=True, exist_ok=True)
  with open(path, 'w') as f:
    for step in steps:
      f.write(json.dumps({'step': step, 'return': 1.0, 'success': 0.5, 'episodes': 1, 'method': 'apv',
                          'task': 'metaworld_reach', 'seed': seed, 'preset': 'debug'}) + '\n')


def test_readers_skip_unreadable_and_repeated_lines_and_say_how_many(tmp_path):
  path = tmp_path / 'run' / 'scores.jsonl'
  scores_file(path, [5000, 15000, 15000])
  with open(path, 'a') as f:
    f.write('{"step": 25000, "return": 1.0, "succ{"step": 35000}\n{"step": 45')  # Glued and cut records.
  said = []
  runs = results.load_runs([tmp_path], warn=said.append)
  curve = runs[('apv', 'debug', 'metaworld_reach')][(0, str(path.parent))]
  assert [s for s, _ in curve] == [5000, 15000]
  assert any('skipped 2 unreadable line(s)' in w for w in said), said
  assert any('skipped 1 repeated' in w for w in said), said
  compare = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'compare.py'), str(tmp_path), '--reps', '50'],
                           capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)
  assert compare.returncode == 0, compare.stderr[-2000:]
  assert 'skipped 2 unreadable line(s)' in compare.stderr and 'IQM' in compare.stdout


# Bad config values, storage and rendering errors: one line each.

BAD_VALUES = [
    (['--save_every', '0'], 'save_every is 0; expected a positive integer'),
    (['--log_every', '0'], 'log_every is 0; expected a positive integer'),
    (['--envs', '0'], 'envs is 0; expected a positive integer'),
    (['--eval_envs', '0'], 'eval_envs is 0'),
    (['--eval_eps', '0'], 'eval_eps is 0; expected a positive integer'),
    (['--steps', '-5'], 'steps is -5; expected an integer >= 0'),
    (['--prefill', '-1'], 'prefill is -1'),
    (['--dataset.batch', '0'], 'dataset.batch is 0'),
    (['--replay.capacity', '0'], 'replay.capacity is 0'),
    (['--env.action_repeat', '0'], 'env.action_repeat is 0'),
    (['--dataset.length', '200'], 'dataset.length is 200; expected at most 101'),
    (['--task', 'metaworld_reach', '--env.length', '0', '--dataset.length', '600'], 'expected at most 501'),
    (['--task', 'dmc_walker_walk', '--env.length', '0', '--env.action_repeat', '4', '--dataset.length', '300'],
     'expected at most 251'),
    (['--dataset.length', '1'], 'dataset.length is 1; expected at least 2'),
    (['--report_context', '12'], 'report_context is 12; expected less than dataset.length (12)'),
    (['--jit', 'maybe'], "jit is 'maybe'; expected one of auto, True, False"),
    (['--precision', '8'], "precision is '8'; expected one of 32, bf16, 16"),
    (['--actor_grad', 'magic'], "actor_grad is 'magic'"),
    (['--encoder.act', 'gelu'], "encoder.act is 'gelu'"),
    (['--discount', '1.5'], 'discount is 1.5; expected a number in (0, 1]'),
    (['--kl.balance', '2.0'], 'kl.balance is 2.0; expected a number in [0, 1]'),
    (['--model_opt.eps', '0.0'], 'model_opt.eps is 0.0; expected a number > 0'),
    (['--env.size', '96', '96'], 'env.size is [96, 96]; expected 64 64'),
]


@pytest.mark.parametrize('args,message', BAD_VALUES, ids=[' '.join(a) for a, _ in BAD_VALUES])
def test_each_bad_value_is_one_line_naming_key_value_and_expectation(args, message):
  from dreamerv2 import config as config_lib
  with pytest.raises(UserError) as info:
    config_lib.parse(['--configs', 'debug', *args])
  assert message in str(info.value) and '\n' not in str(info.value), str(info.value)


@pytest.mark.parametrize('args,message', [
    (['--intr.k', '0'], 'intr.k is 0'),
    (['--intr.k', '100', '--intr.queue', '64'], 'intr.k is 100; expected at most intr.queue (64)'),
    (['--video.batch', '0'], 'video.batch is 0'),
    (['--video.length', '1'], 'video.length is 1'),
    (['--video.format', 'avi'], "video.format is 'avi'"),
    (['--apv.enc_lr_type', 'fast'], "apv.enc_lr_type is 'fast'"),
    (['--video.dmc_periods', '40', '10'], 'video.dmc_periods is [40, 10]'),
])
def test_apv_keys_are_checked_too(args, message):
  from apv_ext import config as apv_config
  with pytest.raises(UserError, match=message.replace('[', r'\[').replace('(', r'\(').replace(')', r'\)')):
    apv_config.parse(['--configs', 'debug', *args])


def test_every_shipped_config_passes_validation():
  from apv_ext import config as apv_config
  from dreamerv2 import validate
  _, named = apv_config.load_layers()
  for name in named:
    config = apv_config.parse(['--configs', name, '--method', 'x'])
    assert validate.problems(config) == [], name


def test_bad_values_fail_at_start_as_one_line_and_write_nothing(entry, tmp_path):
  proc = entry(TRAIN, '--configs', 'debug', '--eval_eps', '0', '--env.size', '96', '96', '--logdir', tmp_path / 'run',
               check=False)
  assert proc.returncode == 2 and 'Traceback' not in proc.stderr
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and 'eval_eps is 0' in errors[0] and 'env.size is [96, 96]' in errors[0]
  assert not (tmp_path / 'run').exists()


def test_logdir_that_cannot_be_written_is_one_line(entry, tmp_path, monkeypatch):
  from dreamerv2 import config as config_lib
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  proc = entry(TRAIN, '--configs', 'debug', '--logdir', blocker / 'run', check=False)
  assert proc.returncode == 2 and 'Traceback' not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1] == f'error: --logdir {blocker / "run"} cannot be used: Not a directory.'

  def read_only(self, data):
    raise OSError(30, 'Read-only file system', str(self))
  monkeypatch.setattr(type(tmp_path), 'write_bytes', read_only)
  with pytest.raises(UserError, match='cannot be used: Read-only file system'):
    config_lib.prepare_logdir(tmp_path / 'ro')


def test_full_disk_during_a_save_is_one_line_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
  save_three(tmp_path)
  module, ckpt = make_ckpt(tmp_path, 4.0, [])

  def full(path):
    import pathlib
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    raise OSError(28, 'No space left on device', path)
  monkeypatch.setattr(ckpt._ckpt, 'write', full)
  with pytest.raises(UserError) as info:
    ckpt.save(4, {'updates': 4})
  message = str(info.value)
  assert 'No space left on device' in message and 'ckpt-000000000003 is intact' in message and '\n' not in message
  assert not list(tmp_path.glob('*.tmp')) and (tmp_path / 'latest').read_text() == 'ckpt-000000000003'


def test_missing_render_library_names_the_debian_package(monkeypatch):
  from dreamerv2.envs import gl
  monkeypatch.setenv('MUJOCO_GL', 'osmesa')
  monkeypatch.setitem(gl.BACKENDS, 'osmesa', (('libNoSuchOSMesa.so.8',), 'libosmesa6'))
  with pytest.raises(gl.RenderBackendError, match='MUJOCO_GL=osmesa needs libNoSuchOSMesa.so.8, which is not '
                     'installed: apt-get install libosmesa6'):
    gl.check_backend()
  monkeypatch.setenv('MUJOCO_GL', 'egl')
  monkeypatch.setitem(gl.BACKENDS, 'egl', (('libNoSuchEGL.so.1',), 'libegl1 libgl1-mesa-dri libopengl0'))
  with pytest.raises(gl.RenderBackendError, match='apt-get install libegl1'):
    gl.check_backend()


@pytest.mark.skipif(bool(__import__('ctypes.util').util.find_library('OSMesa')), reason='OSMesa is installed here')
def test_failing_default_video_collection_is_one_line(entry, tmp_path):
  env_backup = os.environ.get('MUJOCO_GL')
  os.environ['MUJOCO_GL'] = 'osmesa'  # Not installed: the collector fails on its first env.
  try:
    proc = entry('apv_ext/train_video.py', '--configs', 'metaworld_pretrain', 'debug', '--video.cache',
                 tmp_path / 'cache', '--logdir', tmp_path / 'pre', check=False)
  finally:
    os.environ.pop('MUJOCO_GL') if env_backup is None else os.environ.__setitem__('MUJOCO_GL', env_backup)
  assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and 'Collecting the default pre-training videos' in errors[0], proc.stderr[-2000:]
  assert 'apt-get install libosmesa6' in errors[0] and 'collect-error.txt' in errors[0]


def test_evaluation_recorded_once_per_step_across_kill_and_resume(tmp_path):
  from dreamerv2 import config as config_lib
  from test_loop import FLAGS, fresh_state, make_loop
  config = config_lib.parse(FLAGS + ['--logdir', str(tmp_path)])
  loop, _, ckpt, _, _ = make_loop(config, tmp_path, fresh_state(config))
  loop.run()
  # Killed after the last evaluation was written but before the checkpoint after it:
  # the checkpoint's schedule still points at that evaluation.
  state = dict(ckpt.saves[-1][1], next_eval=config.steps)
  more = config_lib.parse(FLAGS + ['--logdir', str(tmp_path), '--steps', str(config.steps + 2 * config.eval_every)])
  loop, _, _, _, eval_env = make_loop(more, tmp_path, state)
  loop.run()
  steps = [r['step'] for r in jsonl.read(tmp_path / 'scores.jsonl')[0]]
  assert len(steps) == len(set(steps)) and config.steps in steps and max(steps) == more.steps


def test_storage_errors_name_the_file_or_the_logdir():
  from dreamerv2 import errors
  line = errors.storage_message(OSError(28, 'No space left on device'), ['--configs', 'debug', '--logdir', '/x/run'])
  assert line.startswith('cannot write into /x/run: No space left on device.') and '\n' not in line
  line = errors.storage_message(OSError(30, 'Read-only file system', '/x/run/scores.jsonl'))
  assert line.startswith('cannot write /x/run/scores.jsonl: Read-only file system.')
  assert errors.storage_message(OSError(2, 'No such file or directory')) is None  # Not a storage fault: raised.
