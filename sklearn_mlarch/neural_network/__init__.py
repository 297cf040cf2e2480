"""Neural network estimators: CNNs for images and signals, RNNs for sequences,
dense networks, a torch module of yours, and multi-task models over any of them."""

from ._cnn import CNNClassifier, CNNRegressor
from ._features import NetworkFeatures
from ._feedforward import (FeedForwardClassifier, FeedForwardRegressor, TorchModuleClassifier,
                           TorchModuleRegressor)
from ._multitask import MultiTaskClassifier, MultiTaskRegressor, make_task_scorer
from ._rnn import RNNClassifier, RNNRegressor

__all__ = [
    "CNNClassifier",
    "CNNRegressor",
    "FeedForwardClassifier",
    "FeedForwardRegressor",
    "MultiTaskClassifier",
    "MultiTaskRegressor",
    "NetworkFeatures",
    "RNNClassifier",
    "RNNRegressor",
    "TorchModuleClassifier",
    "TorchModuleRegressor",
    "make_task_scorer",
]
