"""How a model trained at one resource reaches a larger one: declared, not guessed.

Each (estimator, resource) pair has one continuation mode:

- ``'resume'``: ``warm_start=True`` with ``resource = r - r_prev`` trains the
  missing part and nothing else. The package's estimators declare it for
  ``max_epochs`` (and MAML for ``n_meta_iter``): ``k`` epochs then ``m``
  more equal ``k + m`` epochs bit for bit, so a continued model is the model
  trained fresh for ``r``.
- ``'partial_fit'``: ``r - r_prev`` calls of ``partial_fit``, one epoch each,
  for scikit-learn's SGD, perceptron, passive-aggressive and MLP estimators
  with ``resource='max_iter'`` (the estimator itself, not a Pipeline step:
  a Pipeline has no ``partial_fit``). A candidate whose settings refuse
  ``partial_fit`` (MLP's ``solver='lbfgs'``, SGD's ``early_stopping=True``
  or ``class_weight='balanced'``) is refitted at each rung instead. Their
  ``warm_start`` would restart the step counter and Adam's moments;
  ``partial_fit`` carries them over. Every rung, the first included, and the
  final refit train through ``partial_fit``, so all models of a search are
  trained the same way.
- ``'grow'``: ``warm_start=True`` with ``resource = r`` adds trees to
  scikit-learn's forests, boosting and bagging ensembles (``n_estimators``,
  or ``max_iter`` of the histogram gradient boosting estimators).
- ``'refit'``: train anew at ``r``. Used for ``resource='n_samples'`` and for
  every resource not declared above, e.g. ``max_depth`` of a forest or
  ``n_estimators`` of a deep ensemble: such models are refitted at each rung
  rather than continued in a way they do not support.
"""

import numpy as np
from sklearn.base import BaseEstimator, is_classifier

MODES = ("resume", "partial_fit", "grow", "refit")

_PARTIAL_FIT = {"SGDClassifier", "SGDRegressor", "SGDOneClassSVM", "Perceptron",
                "PassiveAggressiveClassifier", "PassiveAggressiveRegressor",
                "MLPClassifier", "MLPRegressor"}
_GROW_N_ESTIMATORS = {"RandomForestClassifier", "RandomForestRegressor",
                      "ExtraTreesClassifier", "ExtraTreesRegressor",
                      "GradientBoostingClassifier", "GradientBoostingRegressor",
                      "BaggingClassifier", "BaggingRegressor", "IsolationForest",
                      "RandomTreesEmbedding"}
_GROW_MAX_ITER = {"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"}


def _owner(estimator, resource):
    """``(owner, name)``: the (nested) estimator that holds ``resource`` and its name."""
    if "__" not in resource:
        return estimator, resource
    prefix, name = resource.rsplit("__", 1)
    return estimator.get_params()[prefix], name


def declared_continuation(estimator: BaseEstimator, resource: str) -> str:
    """The continuation mode of ``resource`` for ``estimator`` (see the module docs).

    Parameters
    ----------
    estimator : estimator object
    resource : str
        A parameter of ``estimator`` (``'step__param'`` for a Pipeline step)
        or ``'n_samples'``.

    Returns
    -------
    mode : {'resume', 'partial_fit', 'grow', 'refit'}

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.linear_model import SGDClassifier
    >>> declared_continuation(SGDClassifier(), "max_iter")
    'partial_fit'
    >>> declared_continuation(RandomForestClassifier(), "n_estimators")
    'grow'
    >>> declared_continuation(RandomForestClassifier(), "max_depth")
    'refit'
    """
    if resource == "n_samples":
        return "refit"
    owner, name = _owner(estimator, resource)
    declared = getattr(owner, "_continuations", None)
    if isinstance(declared, dict) and name in declared:
        return declared[name]
    cls, module = type(owner).__name__, type(owner).__module__
    if not module.startswith("sklearn."):
        return "refit"
    if name == "max_iter" and cls in _PARTIAL_FIT and owner is estimator \
            and supports_partial_fit(owner):
        return "partial_fit"
    if (name == "n_estimators" and cls in _GROW_N_ESTIMATORS) or (
            name == "max_iter" and cls in _GROW_MAX_ITER):
        return "grow"
    return "refit"


def warm_start_key(estimator, resource):
    """The parameter that turns warm starts on for ``resource``: the resource's
    owner's ``warm_start``, or the one it declares (``_warm_start_param``: MAML's
    is its wrapped estimator's, ``estimator__warm_start``)."""
    owner, _ = _owner(estimator, resource)
    prefix = resource.rsplit("__", 1)[0] + "__" if "__" in resource else ""
    return prefix + getattr(owner, "_warm_start_param", "warm_start")


def check_used(estimator, resource):
    """Raise when ``estimator`` declares that it ignores ``resource``
    (``_unused_params``: MAML trains n_meta_iter meta-iterations, not its
    wrapped estimator's max_epochs)."""
    unused = getattr(estimator, "_unused_params", {})
    if resource in unused:
        raise ValueError(f"{type(estimator).__name__} does not use {resource}: "
                         f"{unused[resource]}")


def check_continuation(estimator, resource, continuation):
    """The mode to use: ``continuation`` itself, or the declared one for ``'auto'``.

    Raises a ValueError when an explicit mode cannot work for the estimator.
    """
    check_used(estimator, resource)
    if continuation == "auto":
        return declared_continuation(estimator, resource)
    owner, name = _owner(estimator, resource)
    if (continuation in ("resume", "grow")
            and warm_start_key(estimator, resource) not in estimator.get_params()):
        raise ValueError(f"continuation={continuation!r} needs a warm_start parameter, which "
                         f"{type(owner).__name__} does not have. Use continuation='refit'.")
    if continuation == "partial_fit" and (owner is not estimator
                                          or not hasattr(estimator, "partial_fit")):
        raise ValueError(f"continuation='partial_fit' needs {type(estimator).__name__} itself "
                         "to have partial_fit. Use continuation='refit'.")
    if continuation != "refit" and resource == "n_samples":
        raise ValueError("resource='n_samples' refits at each rung: use continuation='auto' "
                         "or 'refit'.")
    return continuation


def supports_partial_fit(estimator):
    """Whether ``estimator``, as configured, can be trained by ``partial_fit``.

    MLP with ``solver='lbfgs'`` has no ``partial_fit``; SGD refuses it with
    ``early_stopping=True`` or ``class_weight='balanced'``.
    """
    params = estimator.get_params(deep=False)
    return (hasattr(estimator, "partial_fit") and not params.get("early_stopping", False)
            and params.get("class_weight") != "balanced")


class PartialFitSteps(BaseEstimator):
    """Train ``estimator`` by ``n_calls`` calls of ``partial_fit`` in one ``fit``.

    The wrapped estimator keeps its state between fits, so a promoted
    candidate continues where it stopped. Prediction and scoring go to it.
    """

    def __init__(self, estimator, n_calls=1, classes=None):
        self.estimator = estimator
        self.n_calls = n_calls
        self.classes = classes

    def fit(self, X, y=None, **fit_params):
        if self.classes is not None:
            fit_params = {"classes": self.classes, **fit_params}
        for _ in range(self.n_calls):
            self.estimator.partial_fit(X, y, **fit_params)
        self.fitted_ = True
        return self

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()

    def __sklearn_is_fitted__(self):
        return getattr(self, "fitted_", False)

    def __getattr__(self, name):
        # predict, predict_proba, decision_function, score, classes_ ...
        if name.startswith("_") or name in ("estimator", "n_calls", "classes"):
            raise AttributeError(name)
        return getattr(self.estimator, name)


def classes_for(estimator, y):
    """The ``classes`` argument a classifier's first ``partial_fit`` needs, else None.

    The labels of ``y``, or for a multilabel indicator matrix its columns.
    """
    if not is_classifier(estimator) or y is None:
        return None
    y = np.asarray(y)
    return np.arange(y.shape[1]) if y.ndim == 2 and y.shape[1] > 1 else np.unique(y)
