"""APV: action-free pre-training from videos, as subclasses at dreamerv2's seams."""
