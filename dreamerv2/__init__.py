"""DreamerV2 in TensorFlow 2: an importable package with seams for extensions (see world_model.py)."""
from . import quiet as _quiet

_quiet.install()  # TensorFlow's start-up INFO lines stay out of every process that uses this package.
