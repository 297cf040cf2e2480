"""Find every public estimator of the package."""

import importlib
import inspect

from sklearn.base import BaseEstimator

_PUBLIC_MODULES = (
    "sklearn_mlarch.neural_network",
    "sklearn_mlarch.ensemble",
    "sklearn_mlarch.model_selection",
    "sklearn_mlarch.meta_learning",
)
# models returned by MAML's adapt(): they adapt a fitted meta-learner and take
# no data of another shape, so they are checked in tests/meta_learning instead
_NOT_STANDALONE = {"AdaptedClassifier", "AdaptedRegressor", "PrototypeClassifier"}


def all_estimators() -> list[tuple[str, type[BaseEstimator]]]:
    """Public estimator classes of sklearn_mlarch, sorted by name.

    Returns
    -------
    estimators : list of (name, class) tuples

    Examples
    --------
    >>> from sklearn_mlarch.utils import all_estimators
    >>> "CNNClassifier" in dict(all_estimators())
    True
    """
    found = {}
    for module_name in _PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isclass(obj) and issubclass(obj, BaseEstimator)
                    and name not in _NOT_STANDALONE):
                found[name] = obj
    return sorted(found.items())
