"""The training engine: skorch nets and callbacks, the only training loops.

Every estimator of the package trains through :class:`WeightedNeuralNet`, a
small subclass of :class:`skorch.NeuralNet` that adds per-sample weights,
fast tensor batching and seeded epochs. New behaviour is added as a skorch
callback or a small override of one skorch step, never as a new epoch loop.
"""

from .callbacks import DivergenceGuard, TrainingDivergedError
from .data import ArrayDataset, BatchIterator, HoldoutSplit
from .losses import MemberCrossEntropy
from .net import WeightedNeuralNet

__all__ = [
    "ArrayDataset",
    "BatchIterator",
    "DivergenceGuard",
    "HoldoutSplit",
    "MemberCrossEntropy",
    "TrainingDivergedError",
    "WeightedNeuralNet",
]
