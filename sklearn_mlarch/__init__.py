"""scikit-learn estimators for deep architectures, trained with skorch.

Importing the package is cheap: torch loads on first use of an estimator.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "CNNClassifier": "sklearn_mlarch.neural_network",
    "CNNRegressor": "sklearn_mlarch.neural_network",
    "RNNClassifier": "sklearn_mlarch.neural_network",
    "RNNRegressor": "sklearn_mlarch.neural_network",
    "NetworkFeatures": "sklearn_mlarch.neural_network",
    "MultiTaskClassifier": "sklearn_mlarch.neural_network",
    "MultiTaskRegressor": "sklearn_mlarch.neural_network",
    "FeedForwardClassifier": "sklearn_mlarch.neural_network",
    "FeedForwardRegressor": "sklearn_mlarch.neural_network",
    "TorchModuleClassifier": "sklearn_mlarch.neural_network",
    "TorchModuleRegressor": "sklearn_mlarch.neural_network",
    "DeepEnsembleClassifier": "sklearn_mlarch.ensemble",
    "DeepEnsembleRegressor": "sklearn_mlarch.ensemble",
    "HyperbandSearchCV": "sklearn_mlarch.model_selection",
    "MAMLClassifier": "sklearn_mlarch.meta_learning",
    "MAMLRegressor": "sklearn_mlarch.meta_learning",
    "PrototypicalClassifier": "sklearn_mlarch.meta_learning",
    "Streamed": "sklearn_mlarch._training.stream",
    "save_model": "sklearn_mlarch.persistence",
    "load_model": "sklearn_mlarch.persistence",
    "fit_distributed": "sklearn_mlarch.distributed",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sklearn_mlarch' has no attribute {name!r}")


def __dir__():
    return __all__
