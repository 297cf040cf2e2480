"""Models adapted to one task from a meta-learned initialisation."""

from __future__ import annotations

import copy
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (check_array, check_consistent_length, check_is_fitted,
                                      column_or_1d)

from .._targets import softmax
from .._training.prototypes import class_means, squared_distances

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self


class _BaseAdapted(BaseEstimator):
    """A meta-learned network adapted to one task; ``fit`` adapts, from the meta-learner.

    ``fit`` takes a snapshot of the meta-learner (``meta_``): refitting or
    changing the meta-learner afterwards leaves the adapted model as it was.
    Cloning keeps the fitted meta-learner (as a shallow copy, so a search
    that sets ``meta_estimator__inner_lr`` or ``meta_estimator__adapt_steps``
    on a clone leaves yours unchanged), so the adapted model can be
    cross-validated and searched: each fold adapts from the same
    initialisation.
    """

    def __init__(self, meta_estimator, *, steps=None):
        self.meta_estimator = meta_estimator
        self.steps = steps

    def __sklearn_clone__(self):
        return type(self)(copy.copy(self.meta_estimator), steps=self.steps)

    def _validate(self, meta, X, y=None):
        check_is_fitted(meta)
        X, _ = meta._validate_input(X, reset=False)
        if y is None:
            return X, None
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                        ensure_all_finite=not hasattr(meta, "classes_"))
        if hasattr(meta, "classes_"):  # labels: a column is one label per row
            y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return X, y

    def _fitted_state(self):
        """What :func:`~sklearn_mlarch.save_model` stores: parameters and fitted arrays."""
        params = self.get_params(deep=False)
        params.pop("meta_estimator")
        fitted = {k: v for k, v in vars(self).items()
                  if k.endswith("_") and not k.startswith("__") and k != "meta_"}
        if "params_" in fitted:
            fitted["params_"] = {k: v.detach().cpu().numpy() for k, v in fitted["params_"].items()}
        return {"params": params, "fitted": fitted}

    @classmethod
    def _from_fitted_state(cls, meta, state):
        """The fitted model of :meth:`_fitted_state`, adapted from ``meta``."""
        task = cls(meta, **state["params"])
        task.meta_ = copy.copy(meta)  # as fit's snapshot: fitted state by reference
        for name, value in state["fitted"].items():
            if name == "params_":
                value = {k: torch.as_tensor(v, device=meta.net_.device) for k, v in value.items()}
            setattr(task, name, value)
        return task

    def _fit_params(self, X, y, n_classes=None):
        steps = self.steps
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, Integral)
                                  or steps < 0):
            raise ValueError(f"steps must be a non-negative int, got {steps!r}.")
        steps = self.meta_._adapt_steps() if steps is None else steps
        self.params_ = self.meta_._adapted_params(X, y, steps, n_classes)
        if not all(torch.isfinite(p).all() for p in self.params_.values()):
            raise ValueError(
                f"Adaptation diverged: the parameters are not finite after {steps} steps "
                f"with inner_lr={self.meta_.inner_lr:g}. Use fewer steps or a smaller "
                "inner_lr (meta.set_params(inner_lr=...)), or scale the targets.")
        self.n_features_in_ = self.meta_.n_features_in_
        self.n_steps_ = steps

    def _snapshot(self):
        check_is_fitted(self.meta_estimator)
        self.meta_ = copy.copy(self.meta_estimator)  # fitted state by reference, read only
        return self.meta_

    def _output(self, X):
        check_is_fitted(self)
        X, _ = self._validate(self.meta_, X)
        return self.meta_._network_output(self.params_, X)


class AdaptedRegressor(RegressorMixin, _BaseAdapted):
    """A regressor adapted to one task by :meth:`MAMLRegressor.adapt`.

    Parameters
    ----------
    meta_estimator : MAMLRegressor
        Fitted meta-learner to adapt from.
    steps : int, default=None
        Gradient steps on the support set; None takes the meta-learner's
        ``adapt_steps``.

    Attributes
    ----------
    params_ : dict of str to tensor
        The adapted parameters (no autograd graph).
    n_steps_ : int
        Gradient steps taken.
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Adapt to the task's support set ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_support, n_features) or (n_support, *input_shape)
        y : array-like of shape (n_support,) or (n_support, n_outputs)

        Returns
        -------
        self : object
        """
        meta = self._snapshot()
        X, y = self._validate(meta, X, y)
        y_ndim = np.ndim(y)
        y = meta._task_targets(y)
        self._fit_params(X, y)
        self.y_ndim_ = y_ndim
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions of the adapted network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._output(X)
        return out.ravel() if self.y_ndim_ == 1 else out


class AdaptedClassifier(ClassifierMixin, _BaseAdapted):
    """A classifier adapted to new classes by :meth:`MAMLClassifier.adapt`.

    Parameters
    ----------
    meta_estimator : MAMLClassifier
        Fitted meta-learner to adapt from.
    steps : int, default=None
        Gradient steps on the support set; None takes the meta-learner's
        ``adapt_steps``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels of the support set, in sorted order; class ``i`` uses the
        network's output ``i``.
    params_ : dict of str to tensor
        The adapted parameters (no autograd graph).
    n_steps_ : int
        Gradient steps taken.
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Adapt to the support set ``(X, y)``: a few labelled rows of each class.

        Parameters
        ----------
        X : array-like of shape (n_support, n_features) or (n_support, *input_shape)
        y : array-like of shape (n_support,)

        Returns
        -------
        self : object
        """
        meta = self._snapshot()
        X, y = self._validate(meta, X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        n_way = meta.n_way_
        if len(self.classes_) > meta._way_limit():
            raise ValueError(f"The support set has {len(self.classes_)} classes, but the "
                             f"meta-learner was trained on {n_way}-way episodes without a "
                             f"shared head: adapt to at most {n_way} classes, or meta-train "
                             f"with n_way={len(self.classes_)} or shared_head=True.")
        codes = np.searchsorted(self.classes_, y).astype(np.int64)
        self._fit_params(X, codes, len(self.classes_))
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probabilities of the support set's classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._output(X)[:, :len(self.classes_)], axis=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def class_prototypes(embedded, codes, n_classes):
    """``(n_classes, D)`` mean embedding of each class code ``0..n_classes-1``
    (NumPy in and out; the training's :func:`class_means`)."""
    return class_means(_float64(embedded), torch.as_tensor(np.asarray(codes), dtype=torch.long),
                       n_classes).numpy()


def prototype_logits(embedded, prototypes):
    """Negative squared Euclidean distances of ``(n, D)`` rows to ``(N, D)`` prototypes
    (NumPy in and out; the training's :func:`squared_distances`)."""
    return (-squared_distances(_float64(embedded), _float64(prototypes))).numpy()


def _float64(array):
    return torch.from_numpy(np.array(array, dtype=np.float64))  # a copy: any strides, writable


class PrototypeClassifier(ClassifierMixin, _BaseAdapted):
    """A classifier of new classes by their nearest mean in a meta-learned embedding.

    Returned by :meth:`PrototypicalClassifier.adapt`: ``fit`` embeds the
    support set with the meta-learned network and keeps each class's mean
    embedding (its prototype); a row's class probabilities are the softmax
    of its negative squared Euclidean distances to the prototypes.

    Parameters
    ----------
    meta_estimator : PrototypicalClassifier
        Fitted meta-learner whose embedding is used.
    steps : None
        Prototypes take no gradient steps; kept so that the adapted models
        of all meta-learners share one interface.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels of the support set, in sorted order.
    prototypes_ : ndarray of shape (n_classes, n_embedding)
        Mean embedding of each class.
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Embed the support set ``(X, y)`` and keep each class's mean embedding.

        Parameters
        ----------
        X : array-like of shape (n_support, n_features) or (n_support, *input_shape)
        y : array-like of shape (n_support,)

        Returns
        -------
        self : object
        """
        if self.steps not in (None, 0):
            raise ValueError(f"steps={self.steps!r}: prototypes take no gradient steps. "
                             "Pass steps=None.")
        meta = self._snapshot()
        X, y = self._validate(meta, X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.prototypes_ = class_prototypes(meta._embed(X), codes, len(self.classes_))
        self.n_features_in_ = meta.n_features_in_
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Softmax of the negative squared distances to the prototypes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X, _ = self._validate(self.meta_, X)
        return softmax(prototype_logits(self.meta_._embed(X), self.prototypes_), axis=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class of the nearest prototype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
