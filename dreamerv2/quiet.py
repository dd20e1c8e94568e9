"""Imports TensorFlow without its C++ start-up INFO lines, in every process that imports dreamerv2.

TF 2.17+ logs "oneDNN custom operations are on", "Could not find cuda drivers" and
"All log messages before absl::InitializeLog() ..." through absl before absl's
logging is initialised, so `TF_CPP_MIN_LOG_LEVEL` does not reach them and no
setting does. While `tensorflow` executes its package `__init__`, file
descriptor 2 goes through a pipe; a thread forwards every line except those
INFO lines, as they arrive (warnings, errors and a crash's last words still show).

`install()` (called by `dreamerv2/__init__.py`) adds a finder that does this for
the first `import tensorflow`, wherever it happens. It never imports TensorFlow
itself, so environment workers and `--help` stay TensorFlow-free.
"""
import importlib.abc
import importlib.machinery
import os
import re
import sys
import threading

# An absl INFO line ("I0000 00:00:... file.cc:153] ..."), absl's pre-init warning, and
# the second line of cpu_feature_guard's INFO message.
NOISE = re.compile(rb'^(I\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\] '
                   rb'|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR'
                   rb'|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags)')


def _forward(read_fd, write_fd):
  with os.fdopen(read_fd, 'rb') as pipe:
    for line in pipe:
      if not NOISE.match(line):
        os.write(write_fd, line)


class _Filtered:
  """Context manager: fd 2 filtered through NOISE while it is open."""

  def __enter__(self):
    sys.stderr.flush()
    self._saved = os.dup(2)
    read_fd, write_fd = os.pipe()
    self._thread = threading.Thread(target=_forward, args=(read_fd, self._saved), daemon=True)
    self._thread.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)

  def __exit__(self, *exc):
    sys.stderr.flush()
    os.dup2(self._saved, 2)  # Closes the pipe's last write end: the thread sees EOF.
    self._thread.join(timeout=10)
    os.close(self._saved)


class _QuietLoader:
  """Wraps the real loader of `tensorflow`: the same module object, executed under _Filtered."""

  def __init__(self, loader):
    self._loader = loader

  def create_module(self, spec):
    return self._loader.create_module(spec)

  def exec_module(self, module):
    module.__loader__ = self._loader  # The module keeps its real loader afterwards.
    if module.__spec__ is not None:
      module.__spec__.loader = self._loader
    with _Filtered():
      self._loader.exec_module(module)

  def __getattr__(self, name):
    return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):

  def find_spec(self, name, path=None, target=None):
    if name != 'tensorflow':
      return None
    sys.meta_path.remove(self)  # One import only; later lookups are cached in sys.modules.
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is not None and spec.loader is not None:
      spec.loader = _QuietLoader(spec.loader)
    return spec


def install():
  if 'tensorflow' in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
    return
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')  # What the C++ side still honours (after absl init).
  sys.meta_path.insert(0, _Finder())
