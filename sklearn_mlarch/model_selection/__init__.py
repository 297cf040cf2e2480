"""Hyperparameter search: Hyperband in scikit-learn's search API."""

from ._hyperband import HyperbandSearchCV
from ._schedule import hyperband_schedule

__all__ = ["HyperbandSearchCV", "hyperband_schedule"]
