"""Data sets that ship with scikit-learn or are generated; nothing is downloaded."""

from ._digits import load_digits_images
from ._sequences import make_sequence_classification

__all__ = ["load_digits_images", "make_sequence_classification"]
