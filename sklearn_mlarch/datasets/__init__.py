"""Data sets that ship with scikit-learn, are generated or are read from your folder.

Nothing is downloaded.
"""

from ._characters import make_characters
from ._digits import load_digits_images, load_mnist_8x8
from ._omniglot import load_omniglot
from ._sequences import make_sequence_classification
from ._tasks import SinusoidTasks, sample_episodes, split_classes

__all__ = ["SinusoidTasks", "load_digits_images", "load_mnist_8x8", "load_omniglot",
           "make_characters", "make_sequence_classification", "sample_episodes",
           "split_classes"]
