"""scikit-learn's estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mlarch.utils import all_estimators
from sklearn_mlarch.utils._testing import check_configuration, fast_instance

ESTIMATORS = [fast_instance(cls) for _, cls in all_estimators()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    # check_configuration explains the one check that runs on a dedicated setup
    check(check_configuration(estimator, getattr(check, "func", check).__name__))


def test_all_estimators_found():
    names = {name for name, _ in all_estimators()}
    assert {"CNNClassifier", "CNNRegressor", "RNNClassifier", "RNNRegressor",
            "DeepEnsembleClassifier", "NetworkFeatures", "HyperbandSearchCV"} <= names
