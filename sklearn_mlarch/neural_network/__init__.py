"""Neural network estimators: CNNs for images and signals, RNNs for sequences."""

from ._cnn import CNNClassifier, CNNRegressor
from ._features import NetworkFeatures
from ._multitask import MultiTaskClassifier, MultiTaskRegressor, make_task_scorer
from ._rnn import RNNClassifier, RNNRegressor

__all__ = [
    "CNNClassifier",
    "CNNRegressor",
    "MultiTaskClassifier",
    "MultiTaskRegressor",
    "NetworkFeatures",
    "RNNClassifier",
    "RNNRegressor",
    "make_task_scorer",
]
