"""The training engine: skorch nets and callbacks, the only training loops.

Every estimator of the package trains through :class:`TrainingNet`, a small
subclass of :class:`skorch.NeuralNet` that takes an explicit
:class:`Objective`, seeds every epoch and batches tensors. New behaviour is
added as an objective, a skorch callback or a small override of one skorch
step, never as a new epoch loop.
"""

from ..utils._printing import print_lines
from .callbacks import (DivergenceGuard, EpisodeValidation, FreezeBlocks, PlateauLR,
                        TrainingDivergedError, ValidationScore)
from .data import ArrayDataset, Batch, BatchIterator, HoldoutSplit
from .net import NetworkBuildError, TrainingNet, epoch_seed
from .objectives import (CrossEntropyObjective, MultiTaskObjective, Objective,
                         SquaredErrorObjective, scaled_mean, weighted_mean)
from .progress import VERBOSE_OPTIONS, ProgressLog

__all__ = [
    "ArrayDataset",
    "Batch",
    "BatchIterator",
    "CrossEntropyObjective",
    "DivergenceGuard",
    "EpisodeValidation",
    "FreezeBlocks",
    "HoldoutSplit",
    "MultiTaskObjective",
    "NetworkBuildError",
    "Objective",
    "PlateauLR",
    "ProgressLog",
    "SquaredErrorObjective",
    "TrainingDivergedError",
    "TrainingNet",
    "VERBOSE_OPTIONS",
    "ValidationScore",
    "epoch_seed",
    "scaled_mean",
    "print_lines",
    "weighted_mean",
]
