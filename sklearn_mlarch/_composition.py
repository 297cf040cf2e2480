"""Meta-estimators that train a base estimator's network another way.

``MultiTaskClassifier(CNNClassifier(channels=(32, 64)))``: the wrapped
estimator (the first argument, as in ``BaggingClassifier(estimator)``) says
what the network is, what input it reads and how it trains (``lr``,
``max_epochs``, ``batch_size``, ``optimizer``, ``callbacks``, ``device``,
...); the meta-estimator says what it learns (several tasks, several members,
an initialisation for new tasks). Its parameters are reached as
``estimator__lr`` by searches. At fit the meta-estimator clones it
(``estimator_``), which reads ``X`` (every layout the base estimator reads)
and defines the network body; the meta-estimator wraps that body
(task heads, members, an inner loop) and trains it through the one training
path of :class:`~sklearn_mlarch.base.BaseNeuralEstimator`.
"""

from sklearn.base import MetaEstimatorMixin, clone, is_classifier, is_regressor

from ._engine import EngineConfig
from ._input import InputReader
from .base import BaseNeuralEstimator


class NeuralMetaEstimator(MetaEstimatorMixin, BaseNeuralEstimator):
    """Base of the meta-estimators; not for direct use.

    Subclasses set ``_wraps`` (``'classifier'`` or ``'regressor'``), define
    ``_default_estimator()`` and ``_new_targets()``, and may list
    ``_refused`` settings of the wrapped estimator: ``{name: (allowed values,
    reason)}``.
    """

    _wraps = "classifier"
    _refused = {}
    # warm starts are the wrapped estimator's (HyperbandSearchCV, messages)
    _warm_start_param = "estimator__warm_start"
    _test_params = {}  # the meta-estimator's own fast test settings

    @classmethod
    def _default_estimator(cls):
        raise NotImplementedError

    @classmethod
    def _get_test_params(cls):
        """The default wrapped estimator in its fast configuration, and ``_test_params``."""
        base = cls._default_estimator()
        return {"estimator": base.set_params(**base._get_test_params()), **cls._test_params}

    def _base(self):
        """The wrapped estimator as given (or the default), checked."""
        est = self._default_estimator() if self.estimator is None else self.estimator
        name = type(self).__name__
        if not isinstance(est, InputReader):
            raise ValueError(
                f"{name} wraps an estimator of this package that defines a network "
                "(CNNClassifier, RNNClassifier, FeedForwardClassifier, TorchModuleClassifier "
                f"or their regressors), got estimator={est!r}.")
        right = is_classifier(est) if self._wraps == "classifier" else is_regressor(est)
        if not right:
            swap = ("Classifier", "Regressor")
            old, new = swap if self._wraps == "regressor" else swap[::-1]
            kind = type(est).__name__.replace(old, new)
            raise ValueError(f"{name} wraps a {self._wraps}, got {type(est).__name__}. Pass "
                             f"{kind}(...) instead.")
        params = est.get_params(deep=False)
        for param, (allowed, why) in self._refused.items():
            if param in params and not any(_is(params[param], a) for a in allowed):
                raise ValueError(
                    f"{name} cannot use {type(est).__name__}({param}={params[param]!r}): "
                    f"{why} Pass {type(est).__name__}({param}={allowed[0]!r}).")
        # the wrapped estimator's own checks, as its fit would run them: the
        # meta-estimator builds its network without calling that fit
        est._validate_params()
        return est

    def set_params(self, **params):
        """Set parameters, the wrapped estimator's as ``estimator__name``.

        With ``estimator=None``, setting ``estimator__name`` first puts the
        default estimator in its place (so that searches can tune it).

        Parameters
        ----------
        **params : dict
            Parameters of the meta-estimator, and of the wrapped estimator
            as ``estimator__name``.

        Returns
        -------
        self : object
            The meta-estimator.
        """
        if self.estimator is None and any(k.startswith("estimator__") for k in params):
            self.estimator = self._default_estimator()
        own = self.get_params(deep=False)
        base = self._default_estimator() if self.estimator is None else self.estimator
        misplaced = [k for k in params if k not in own and "__" not in k
                     and k in base.get_params(deep=False)]
        if misplaced:
            raise ValueError(
                f"{', '.join(map(repr, misplaced))} is a parameter of the wrapped "
                f"{type(base).__name__}, not of {type(self).__name__}: set "
                + ", ".join(f"estimator__{k}" for k in misplaced) + " instead.")
        return super().set_params(**params)

    def _engine_config(self):
        params = self._base().get_params(deep=False)
        if self.random_state is not None:
            params["random_state"] = self.random_state
        return EngineConfig.from_params(params, **self._config_overrides())

    def _config_overrides(self):
        return {}

    def _reader(self):
        return self.estimator_

    def _validate_input(self, X, y="no_validation", reset=True, targets=None):
        if reset:
            self.estimator_ = clone(self._base())
        try:
            X, y = self.estimator_._read_input(X, y, reset=reset, targets=targets)
        except ValueError as exc:
            if reset:  # what the wrapped estimator cannot read: its name is the news
                raise
            # a fitted model refusing X: name the estimator the user holds
            raise ValueError(str(exc).replace(type(self.estimator_).__name__,
                                              type(self).__name__)) from exc
        if reset:
            self.n_features_in_ = self.estimator_.n_features_in_
            names = getattr(self.estimator_, "feature_names_in_", None)
            if names is not None:
                self.feature_names_in_ = names
            else:
                self.__dict__.pop("feature_names_in_", None)
        return X, y

    def _network(self):
        return self.estimator_._network()

    @property
    def input_shape_(self):
        return self.estimator_.input_shape_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = self._default_estimator() if self.estimator is None else self.estimator
        tags.input_tags = base.__sklearn_tags__().input_tags
        return tags


def _is(value, allowed):
    return value is allowed or (type(value) is type(allowed) and value == allowed)
