"""Find every public estimator of the package."""

import importlib
import inspect

from sklearn.base import BaseEstimator

_PUBLIC_MODULES = (
    "sklearn_mlarch.neural_network",
    "sklearn_mlarch.ensemble",
    "sklearn_mlarch.model_selection",
)


def all_estimators():
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
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return sorted(found.items())
