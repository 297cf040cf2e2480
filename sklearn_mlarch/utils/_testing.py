"""Fast, seeded test configurations of the estimators.

Each estimator class returns its own small configuration
(``cls._get_test_params()``, as aeon's ``get_test_params``), so this module
imports no estimator: the test suite and the compatibility checks ask the
class. Estimators without one run with their defaults.
"""

from collections.abc import Mapping

from sklearn.base import clone


class _FastParams(Mapping):
    """``FAST_PARAMS[name]``: the fast configuration of the estimator class ``name``."""

    def _classes(self):
        from .discovery import all_estimators

        return dict(all_estimators())

    def __getitem__(self, name):
        cls = self._classes()[name]
        return dict(cls._get_test_params()) if hasattr(cls, "_get_test_params") else {}

    def __iter__(self):
        return iter(self._classes())

    def __len__(self):
        return len(self._classes())


FAST_PARAMS = _FastParams()


def fast_instance(cls, **overrides):
    """An instance of ``cls`` with its fast test parameters and ``random_state=0``."""
    fast = cls._get_test_params() if hasattr(cls, "_get_test_params") else {}
    params = {**fast, **overrides}
    est = cls(**params)
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=params.get("random_state", 0))
    return est


# Sample-weight equivalence compares predictions at rtol=1e-7, as for
# MLPClassifier (which scikit-learn checks with solver='lbfgs'): exact only
# when both fits see the same full batch in float64 with plain SGD, no batch
# statistics and no dropout; Adam divides by tiny gradient moments, which
# turns 1e-16 round-off into visible differences. A deep ensemble draws a
# bootstrap sample per member, which by design is not the same as repeating
# samples, so the check runs it with bootstrap=False.
EQUIVALENCE_CHECK = "check_sample_weight_equivalence_on_dense_data"
_EQUIVALENCE_PARAMS = dict(batch_size="full", dtype="float64", optimizer="sgd", lr=0.05,
                           max_epochs=20, batch_norm=False, dropout=0.0, bootstrap=False)


def check_configuration(estimator, check_name):
    """The estimator a compatibility check runs on: a dedicated clone where needed.

    The equivalence settings go to whichever estimator holds each parameter:
    the estimator itself, or the one it wraps (``estimator__lr``).
    """
    if check_name != EQUIVALENCE_CHECK:
        return estimator
    params = estimator.get_params(deep=True)
    if "dtype" not in params and "estimator__dtype" not in params:
        return estimator
    settings = {}
    for name, value in _EQUIVALENCE_PARAMS.items():
        for key in (name, f"estimator__{name}"):
            if key in params:
                settings[key] = value
                break
    return clone(estimator).set_params(**settings)
