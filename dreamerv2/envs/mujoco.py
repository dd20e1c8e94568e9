"""MuJoCo model settings shared by the suites that render with it (Meta-world, DMC).

The GL backend they render with is checked in `gl.py`.
"""


def disable_shadows(model):
  """10x faster software rendering; changes the images, so it is a recorded option."""
  model.light_castshadow[:] = 0
  model.vis.quality.offsamples = 0
