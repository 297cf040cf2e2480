"""Helpers: estimator discovery, test configurations, thread control, model summaries."""

from ._summary import ModelSummary
from ._threads import torch_threads, worker_threads
from .discovery import all_estimators

__all__ = ["ModelSummary", "all_estimators", "torch_threads", "worker_threads"]
