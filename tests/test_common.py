"""scikit-learn's estimator checks over every public estimator."""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mlarch.utils import all_estimators
from sklearn_mlarch.utils._testing import fast_instance

# Sample-weight equivalence compares predictions at rtol=1e-7, as for
# MLPClassifier (which scikit-learn checks with solver='lbfgs'): exact only
# when both fits see the same full batch in float64 with plain SGD, no batch
# statistics and no dropout; Adam divides by tiny gradient moments, which
# turns 1e-16 round-off into visible differences.
EQUIVALENCE_PARAMS = dict(batch_size="full", dtype="float64", optimizer="sgd", lr=0.05,
                          max_epochs=20)
# The deep ensemble draws a bootstrap sample per member, which by design is not
# the same as repeating samples, so the check runs it with bootstrap=False.
ARCH_EQUIVALENCE = {"CNN": dict(batch_norm=False, dropout=0.0), "RNN": dict(dropout=0.0),
                    "Dee": dict(batch_norm=False, dropout=0.0, bootstrap=False)}


def _check_params(estimator, check):
    name = getattr(check, "func", check).__name__
    if name == "check_sample_weight_equivalence_on_dense_data":
        arch = type(estimator).__name__[:3]
        # clone: the instance is shared by all the checks of this estimator
        return clone(estimator).set_params(**EQUIVALENCE_PARAMS, **ARCH_EQUIVALENCE.get(arch, {}))
    return estimator


ESTIMATORS = [fast_instance(cls) for _, cls in all_estimators()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(_check_params(estimator, check))


def test_all_estimators_found():
    names = {name for name, _ in all_estimators()}
    assert {"CNNClassifier", "CNNRegressor", "RNNClassifier", "RNNRegressor",
            "DeepEnsembleClassifier"} <= names
