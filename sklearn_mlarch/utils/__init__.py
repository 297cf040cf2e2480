"""Helpers: estimator discovery, test configurations, thread control."""

from .discovery import all_estimators

__all__ = ["all_estimators"]
