"""The headless OpenGL backend MuJoCo renders with (`MUJOCO_GL`), checked before first use.

A missing library otherwise surfaces deep inside PyOpenGL as e.g. `'NoneType'
object has no attribute 'glGetError'`; this names the library and its Debian package.
"""
import ctypes
import os

# MUJOCO_GL value: (shared libraries tried, Debian packages that provide them).
BACKENDS = {
    'egl': (('libEGL.so.1', 'libEGL.so'), 'libegl1 libgl1-mesa-dri libopengl0'),
    'osmesa': (('libOSMesa.so.8', 'libOSMesa.so.6', 'libOSMesa.so'), 'libosmesa6'),
}


class RenderBackendError(RuntimeError):
  pass


def check_backend():
  """Raises RenderBackendError when MUJOCO_GL's library cannot be loaded (egl is the default)."""
  backend = os.environ.setdefault('MUJOCO_GL', 'egl')
  if backend not in BACKENDS:
    return  # glfw (needs a display) or a custom value: MuJoCo reports those itself.
  names, packages = BACKENDS[backend]
  for name in names:
    try:
      ctypes.CDLL(name)
      return
    except OSError:
      continue
  other = 'osmesa' if backend == 'egl' else 'egl'
  raise RenderBackendError(
      f'MUJOCO_GL={backend} needs {names[0]}, which is not installed: apt-get install {packages} '
      f'(or set MUJOCO_GL={other} if that backend is installed).')
