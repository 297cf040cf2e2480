"""Neural network estimators: CNNs for images and signals, RNNs for sequences."""

from ._cnn import CNNClassifier, CNNRegressor
from ._features import NetworkFeatures
from ._rnn import RNNClassifier, RNNRegressor

__all__ = [
    "CNNClassifier",
    "CNNRegressor",
    "NetworkFeatures",
    "RNNClassifier",
    "RNNRegressor",
]
