"""Deep ensembles of any base estimator, trained together as one network."""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import HasMethods, Interval

from .._composition import NeuralMetaEstimator
from ..base import ScoresStreams
from .._targets import Targets
from ..networks import (CNNEnsembleNetwork, CNNNetwork, InceptionEnsembleNetwork,
                        InceptionNetwork, ResNetEnsembleNetwork, ResNetNetwork,
                        SeriesScaled, ensemble_network)

# series networks computed as one network of grouped convolutions, masking included
GROUPED_SERIES_NETWORKS = {InceptionNetwork: InceptionEnsembleNetwork,
                           ResNetNetwork: ResNetEnsembleNetwork}

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


class EnsembleTargets(Targets):
    """The wrapped estimator's targets, learned by ``n_estimators`` members at once.

    Each member gets its own initialisation and, with ``bootstrap``, its own
    bootstrap sample (multinomial counts as sample weights); predictions
    average the members.
    """

    def __init__(self, inner, n_estimators, bootstrap):
        self.inner = inner
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.multi_output, self.numeric = inner.multi_output, inner.numeric
        self.stratify = inner.stratify

    def fit(self, y, sample_weight=None, classes=None):
        return self.inner.fit(y, sample_weight, classes)

    def encode(self, y, classes=None):
        return self.inner.encode(y, classes)

    def check_refit(self, classes):
        self.inner.check_refit(classes)

    @property
    def n_outputs(self):
        return self.inner.n_outputs

    @property
    def classes_(self):
        return self.inner.classes_

    def head_classes(self):
        return self.inner.head_classes()

    def objective(self):
        objective = self.inner.objective()
        objective.member_axis = True  # each member its own weighted mean
        return objective

    def network(self, module, kwargs):
        if module is SeriesScaled:  # series normalised once, for the members inside
            inner = {k: v for k, v in kwargs.items() if k not in ("body", "keep_scale")}
            body, body_kwargs = self.network(kwargs["body"], inner)
            return SeriesScaled, {**body_kwargs, "body": body, "keep_scale": kwargs["keep_scale"]}
        kwargs = {**kwargs, "n_outputs": self.n_outputs}
        if module is CNNNetwork and not kwargs.get("variable_length"):
            # CNN members as one grouped network: a few times faster than a loop
            kwargs.pop("variable_length", None)
            return CNNEnsembleNetwork, {**kwargs, "n_members": self.n_estimators}
        if module in GROUPED_SERIES_NETWORKS:  # InceptionTime, ResNet: grouped as well
            return GROUPED_SERIES_NETWORKS[module], {**kwargs, "n_members": self.n_estimators}
        return ensemble_network, {"network": module, "n_members": self.n_estimators, **kwargs}

    def sample_weight(self, sw, codes, dtype, seed=0):
        weights = self.inner.sample_weight(sw, codes, dtype)
        n = len(codes)
        weights = np.ones(n) if weights is None else weights.astype(np.float64)
        if self.bootstrap:
            # drawn from the fit's seed and the data size: the same draw for
            # every call on the same data, so k epochs then m more equal k + m
            rng = np.random.default_rng([seed, n])
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=self.n_estimators).T
        else:
            counts = np.ones((n, self.n_estimators))
        return (weights[:, None] * counts).astype(dtype)

    def dataset(self, X, codes, weights, epochs, seed):
        return self.inner.dataset(X, codes, weights, epochs, seed)

    def member_outputs(self, output):
        """``(n, n_estimators, ...)``: probabilities for classes, values for regression."""
        return self.inner.proba(output) if hasattr(self.inner, "proba") else np.stack(
            [self.inner.decode(output[:, m]) for m in range(output.shape[1])], axis=1)

    def proba(self, output):
        return self.member_outputs(output).mean(axis=1)

    def decode(self, output):
        if hasattr(self.inner, "proba"):
            return self.inner.classes_[self.proba(output).argmax(axis=1)]
        return self.member_outputs(output).mean(axis=1)


_DOC = """\
    estimator : estimator object, default=None
        The base estimator each member copies: its network, the input it
        reads and its training parameters (``lr``, ``max_epochs``,
        ``batch_size``, ``optimizer``, ``class_weight``, ``device``, ...).
        None: ``%(default)s()``. Cloned at fit (``estimator_``).
    n_estimators : int, default=5
        Number of members (networks).
    bootstrap : bool, default=False
        Train each member on its own bootstrap sample (multinomial counts used
        as sample weights; the same draw for every call on the same data).
        With False (the default, as Lakshminarayanan et al. and
        InceptionTime train their members) all members see all the data and
        differ in their initialisation, shuffling being shared.
    random_state : int, RandomState instance or None, default=None
        Seeds the fit; None uses the wrapped estimator's ``random_state``."""

# the Notes section of both deep ensembles (prose, not parameters)
_NOTES = """\
    Each member starts from its own random initialisation, except a torch
    module of yours (:class:`TorchModuleClassifier`), whose weights every
    member copies, as a pre-trained backbone's should be kept: such members
    differ in their heads (and, with ``bootstrap=True``, their samples).

    The members train together in one network and one training loop: CNN
    members as one network of grouped convolutions
    (:class:`~sklearn_mlarch.networks.CNNEnsembleNetwork`, about 3 times
    faster than 8 separate fits, ``benchmarks/RESULTS.md``), as are
    ``architecture='inception'`` members (InceptionTime's ensemble,
    :class:`~sklearn_mlarch.networks.InceptionEnsembleNetwork`) and
    ``'resnet'`` members
    (:class:`~sklearn_mlarch.networks.ResNetEnsembleNetwork`), series of
    different lengths included; other networks (RNNs, dense networks, a
    module of yours, plain CNNs on series of different lengths) one after
    the other in one module
    (:class:`~sklearn_mlarch.networks.MemberEnsemble`) or vectorised with
    ``torch.func.vmap``."""


class _BaseDeepEnsemble(NeuralMetaEstimator):
    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "get_params"])],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "bootstrap": ["boolean"],
        "random_state": ["random_state"],
    }
    _test_params = {"n_estimators": 3}

    def __init__(self, estimator=None, *, n_estimators=5, bootstrap=False, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.random_state = random_state

    def _new_targets(self):
        return EnsembleTargets(self._base()._new_targets(), self.n_estimators, self.bootstrap)

    def predict_member(self, X: ArrayLike) -> np.ndarray:
        """Each member's prediction: class probabilities or target values.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_estimators, n_classes or n_outputs)
        """
        output = self._predict_raw(X)
        return self.targets_.member_outputs(output)


class DeepEnsembleClassifier(ScoresStreams, ClassifierMixin, _BaseDeepEnsemble):
    __doc__ = """Deep ensemble of a base classifier's network, members trained together.

    ``n_estimators`` copies of the wrapped estimator's network, each with
    its own initialisation (and with ``bootstrap=True`` its own bootstrap
    sample), trained in one
    loop; predicted probabilities are the members' average
    (Lakshminarayanan et al., 2017, "Simple and Scalable Predictive
    Uncertainty Estimation using Deep Ensembles").

    Parameters
    ----------
%(doc)s

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator`` that reads ``X``.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    net_ : skorch.NeuralNet
    n_iter_ : int

    See Also
    --------
    sklearn.ensemble.BaggingClassifier : the same idea with members trained one by one.

    Notes
    -----
%(notes)s

    Examples
    --------
    >>> from sklearn_mlarch import CNNClassifier, DeepEnsembleClassifier
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> ens = DeepEnsembleClassifier(CNNClassifier(max_epochs=2), n_estimators=3,
    ...                              random_state=0)
    >>> ens.fit(X[:200], y[:200]).predict_proba(X[:2]).shape
    (2, 10)
    """ % dict(doc=_DOC % dict(default="CNNClassifier"), notes=_NOTES)

    @classmethod
    def _default_estimator(cls):
        from ..neural_network import CNNClassifier

        return CNNClassifier()

    def _fitted(self, targets, X, y):
        self.classes_ = targets.classes_

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Average of the members' class probabilities.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        output = self._predict_raw(X)
        return self.targets_.proba(output)


class DeepEnsembleRegressor(ScoresStreams, RegressorMixin, _BaseDeepEnsemble):
    __doc__ = """Deep ensemble of a base regressor's network, members trained together.

    Predictions are the members' average; :meth:`predict_member` gives each
    member's, whose spread measures the ensemble's uncertainty.

    Parameters
    ----------
%(doc)s

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator`` that reads ``X``.
    n_features_in_ : int
    net_ : skorch.NeuralNet
    n_iter_ : int

    Notes
    -----
%(notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import DeepEnsembleRegressor, FeedForwardRegressor
    >>> X = np.random.RandomState(0).rand(60, 3)
    >>> ens = DeepEnsembleRegressor(FeedForwardRegressor(max_epochs=3), n_estimators=4,
    ...                             random_state=0).fit(X, X.sum(1))
    >>> ens.predict_member(X[:2]).shape
    (2, 4)
    """ % dict(doc=_DOC % dict(default="CNNRegressor"), notes=_NOTES)

    _wraps = "regressor"

    @classmethod
    def _default_estimator(cls):
        from ..neural_network import CNNRegressor

        return CNNRegressor()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
