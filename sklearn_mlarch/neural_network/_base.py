"""What the base estimators share: they read their own input and define their
own network; a classifier or regressor mixin adds the target handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._engine import ENGINE_CONSTRAINTS
from .._input import InputReader
from .._targets import ClassTargets, RegressionTargets
from ..base import BaseNeuralEstimator, ScoresStreams

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike


class NeuralEstimator(InputReader, BaseNeuralEstimator):
    """A base estimator: reads its own input and defines its own network."""

    _parameter_constraints = {"input_shape": [None, tuple, list], **ENGINE_CONSTRAINTS}


class NeuralClassifierMixin(ScoresStreams):
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


class NeuralRegressorMixin(ScoresStreams):
    """A regressor's targets: one or more outputs, standardised inside."""

    def _new_targets(self):
        return RegressionTargets()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
