"""Hyperparameter search: Hyperband in scikit-learn's search API."""

from ._continuation import declared_continuation
from ._hyperband import HyperbandSearchCV
from ._schedule import hyperband_schedule

__all__ = ["HyperbandSearchCV", "declared_continuation", "hyperband_schedule"]
