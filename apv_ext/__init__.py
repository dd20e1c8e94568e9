"""APV: action-free pre-training from videos, as subclasses at dreamerv2's seams."""
import dreamerv2 as _dreamerv2  # noqa: F401  (its import keeps TensorFlow's start-up lines silent)
