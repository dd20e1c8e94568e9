"""DreamerV2 in TensorFlow 2: an importable package with seams for extensions (see world_model.py)."""
