"""Installation: package data from a non-editable install, instant --help without TensorFlow, the doctor."""
import os
import pathlib
import shutil
import subprocess
import sys

from conftest import ROOT

ENTRY_POINTS = ('dreamerv2/train.py', 'apv_ext/train.py', 'apv_ext/train_video.py')


def _run(args, cwd, env=None, timeout=300):
  return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                        env={**os.environ, **(env or {})})


def test_non_editable_install_finds_its_package_data(tmp_path):
  # Build from a copy: pip builds in the source tree, and tests write only under tmp_path.
  src = tmp_path / 'src'
  src.mkdir()
  for name in ('pyproject.toml', 'README.md'):
    shutil.copy(ROOT / name, src / name)
  ignore = shutil.ignore_patterns('__pycache__', '*.egg-info')
  for package in ('dreamerv2', 'apv_ext'):
    shutil.copytree(ROOT / package, src / package, ignore=ignore)
  target = tmp_path / 'site'
  proc = subprocess.run(
      [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation', '--no-index',
       '--target', str(target), str(src)], capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  shutil.rmtree(src)  # Nothing may be read from the source tree any more.
  code = '''
import pathlib, sys
import apv_ext, dreamerv2
from apv_ext import config
from apv_ext import results
assert pathlib.Path(apv_ext.__file__).parent.parent == pathlib.Path(sys.argv[1]), apv_ext.__file__
c = config.parse(['--configs', 'metaworld', 'debug'])
ref = results.load_reference()
print(c.method, c.rssm.deter, len(config.describe()), len(ref))
'''
  elsewhere = tmp_path / 'elsewhere'
  elsewhere.mkdir()
  out = _run(['-c', code, str(target)], cwd=elsewhere, env={'PYTHONPATH': str(target)})
  assert out.returncode == 0, out.stderr[-3000:]
  method, deter, described, curves = out.stdout.split()
  assert method == 'apv' and deter == '32' and int(described) >= 10 and int(curves) > 0
  entry_points = (target / 'apv-0.1.0.dist-info' / 'entry_points.txt').read_text()
  for script in ('apv-pretrain', 'apv-train', 'dreamerv2-train', 'apv-doctor', 'apv-sweep', 'apv-eval',
                 'apv-plot'):
    assert script in entry_points


def test_help_is_instant_and_imports_no_tensorflow(tmp_path):
  code = '''
import runpy, sys
sys.argv = [sys.argv[1], sys.argv[2]]
try:
  runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as e:
  assert e.code in (0, None), e.code
print('TF_IMPORTED', 'tensorflow' in sys.modules)
'''
  for script in ENTRY_POINTS:
    for flag in ('--help', '-h'):
      out = _run(['-c', code, str(ROOT / script), flag], cwd=tmp_path, timeout=60)
      assert out.returncode == 0, out.stderr[-3000:]
      assert 'TF_IMPORTED False' in out.stdout, script
      assert out.stdout.count('Named configs:') == 1 and 'debug ' in out.stdout and '--rssm.deter' in out.stdout
      first = out.stdout.splitlines()[0]
      assert first and not first.startswith('Usage'), f'{script} --help starts with no description'


def test_doctor_exit_code_follows_a_forced_failure(tmp_path):
  env = {'PYTHONPATH': str(ROOT), 'HOME': str(tmp_path)}
  good = _run(['-m', 'dreamerv2.doctor', '--logdir', tmp_path / 'logs'], cwd=tmp_path, env=env)
  lines = good.stdout.splitlines()
  names = {line.split()[1]: line.split()[0] for line in lines if line.split() and line.split()[0] in
           ('ok', 'failed', 'note')}
  for check in ('python', 'packages', 'render-metaworld', 'render-dmc', 'ffmpeg', 'disk-logdir', 'tensorflow',
                'xla', 'bf16', 'fp16'):
    assert check in names, good.stdout + good.stderr
  assert names['render-metaworld'] == 'ok' and names['render-dmc'] == 'ok', good.stdout
  assert good.returncode == (1 if 'failed' in names.values() else 0), good.stdout
  # The doctor imported TensorFlow through dreamerv2: none of TF's start-up INFO lines.
  assert 'absl::InitializeLog' not in good.stderr and 'oneDNN custom operations' not in good.stderr, good.stderr
  bad = _run(['-m', 'dreamerv2.doctor', '--only', 'system', 'render', '--logdir', tmp_path / 'logs'], cwd=tmp_path,
             env={**env, 'MUJOCO_GL': 'bad'})
  assert bad.returncode == 1, bad.stdout
  line = [l for l in bad.stdout.splitlines() if 'render-metaworld' in l][0]
  assert line.startswith('failed') and 'MUJOCO_GL=bad' in line and 'fix:' in line
