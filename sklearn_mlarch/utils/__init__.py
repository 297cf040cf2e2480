"""Helpers: estimator discovery, test configurations, thread control."""

from ._threads import torch_threads, worker_threads
from .discovery import all_estimators

__all__ = ["all_estimators", "torch_threads", "worker_threads"]
