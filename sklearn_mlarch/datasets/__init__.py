"""Data sets that ship with scikit-learn or are generated; nothing is downloaded."""

from ._digits import load_digits_images, load_mnist_8x8
from ._sequences import make_sequence_classification
from ._tasks import SinusoidTasks, sample_episodes, split_classes

__all__ = ["SinusoidTasks", "load_digits_images", "load_mnist_8x8",
           "make_sequence_classification", "sample_episodes", "split_classes"]
