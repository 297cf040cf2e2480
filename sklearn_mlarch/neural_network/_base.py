"""What the base estimators share: they read their own input and define their
own network; a classifier or regressor mixin adds the target handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._engine import ENGINE_CONSTRAINTS
from .._input import InputReader
from .._targets import ClassTargets, RegressionTargets
from .._training.stream import is_streamed, with_labels
from ..base import BaseNeuralEstimator

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike


class NeuralEstimator(InputReader, BaseNeuralEstimator):
    """A base estimator: reads its own input and defines its own network."""

    _parameter_constraints = {"input_shape": [None, tuple, list], **ENGINE_CONSTRAINTS}


class _ScoresStreams:
    """``score(X)`` of a torch Dataset (or a stream of ``(x, y)``) with its own labels."""

    def score(self, X: ArrayLike, y: ArrayLike | None = None,
              sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy (classifiers) or R² (regressors) on ``X``.

        As scikit-learn's ``score``; ``y`` may be left out when ``X`` is a
        torch ``Dataset`` yielding ``(x, y)``: its labels are used.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            True targets; None: the labels of a torch Dataset X.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        if y is None and is_streamed(X):
            X, y = with_labels(X)
        return super().score(X, y, sample_weight=sample_weight)


class NeuralClassifierMixin(_ScoresStreams):
    """A classifier's targets: labels of any type, class weights, probabilities."""

    def _new_targets(self):
        return ClassTargets(self.class_weight, owner=type(self).__name__)

    def _fitted(self, targets, X, y):
        self.classes_ = targets.classes_

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (softmax of the network output).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        output = self._predict_raw(X)
        return self.targets_.proba(output)


class NeuralRegressorMixin(_ScoresStreams):
    """A regressor's targets: one or more outputs, standardised inside."""

    def _new_targets(self):
        return RegressionTargets()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
