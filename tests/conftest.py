import os
import pathlib
import subprocess
import sys

import pytest

import dreamerv2  # noqa: F401  (first: TensorFlow's start-up lines stay silent in the test process)

ROOT = pathlib.Path(__file__).resolve().parent.parent
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def run_entry(script, *args, timeout=600, check=True):
  """Runs an entry point as a user would; returns the CompletedProcess."""
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
  proc = subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True,
                        text=True, timeout=timeout, env=env, cwd=ROOT)
  if check and proc.returncode != 0:
    raise AssertionError(f'{script} {" ".join(map(str, args))} failed ({proc.returncode}):\n'
                         f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
  return proc


@pytest.fixture
def entry():
  return run_entry


@pytest.fixture(scope='session', autouse=True)
def video_cache_in_tmp(tmp_path_factory):
  """Tests write only under pytest's temporary directory: the video cache and the embedded
  default video sets go there (entry points run as subprocesses inherit $APV_CACHE)."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv('APV_CACHE', str(tmp_path_factory.mktemp('apv_cache')))
    yield
