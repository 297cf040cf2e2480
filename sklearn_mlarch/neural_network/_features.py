"""A fitted network's penultimate layer as features for a Pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._training.stream import first_samples
from ._cnn import CNNClassifier

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self


class NetworkFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Transformer that trains a neural estimator and outputs its penultimate layer.

    ``fit`` trains a clone of ``estimator`` on ``(X, y)``; ``transform``
    returns the activations feeding its output layer, so a CNN or RNN can
    learn features that another model (e.g. gradient boosting) then uses.

    Parameters
    ----------
    estimator : neural estimator, default=None
        Any estimator of this package; ``None`` means ``CNNClassifier()``.
    random_state : int, RandomState instance or None, default=None
        Seed of the clone that is trained, in place of the estimator's own
        ``random_state`` (so a search or ``check_estimator`` can seed the
        transformer itself). ``None`` keeps the estimator's.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone.
    n_features_in_ : int
        Number of features seen in fit.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_mlarch import CNNClassifier
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> from sklearn_mlarch.neural_network import NetworkFeatures
    >>> X, y = load_digits_images(flat=True)
    >>> cnn = CNNClassifier(input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    >>> pipe = make_pipeline(NetworkFeatures(cnn), HistGradientBoostingClassifier(max_iter=5))
    >>> pipe.fit(X[:200], y[:200]).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {"estimator": [None, BaseEstimator],
                              "random_state": ["random_state"]}

    def __init__(self, estimator=None, *, random_state=None):
        self.estimator = estimator
        self.random_state = random_state

    @classmethod
    def _get_test_params(cls):
        return dict(estimator=CNNClassifier(**CNNClassifier._get_test_params()))

    def fit(self, X: ArrayLike, y: ArrayLike | None = None, **fit_params) -> Self:
        """Train the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            The targets; None where X carries them (a torch Dataset of
            ``(x, y)`` items).
        **fit_params : dict
            Passed to the estimator's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self : object
        """
        self._validate_params()
        base = clone(CNNClassifier() if self.estimator is None else self.estimator)
        if self.random_state is not None:
            if "random_state" not in base.get_params(deep=False):
                raise ValueError(
                    f"random_state={self.random_state!r} was given, but "
                    f"{type(base).__name__} takes no random_state. Leave NetworkFeatures' "
                    "random_state as None, or wrap an estimator that has one.")
            base.set_params(random_state=self.random_state)
        self.estimator_ = base.fit(X, y, **fit_params)
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        # one sample gives the width: a Dataset or memmap is not read again whole
        self._n_features_out = self.transform(first_samples(X)).shape[1]
        return self

    def transform(self, X: ArrayLike):
        """Penultimate-layer activations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        features : ndarray of shape (n_samples, n_hidden)
        """
        check_is_fitted(self)
        return self.estimator_.transform_features(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
