"""The estimators and searches on a real local Ray instance, through joblib's Ray backend."""

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from joblib import parallel_config  # noqa: E402
from sklearn.ensemble import BaggingClassifier  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklearn_mlarch import CNNClassifier  # noqa: E402
from sklearn_mlarch.model_selection import HyperbandSearchCV  # noqa: E402
from sklearn_mlarch.utils._testing import fast_instance  # noqa: E402


@pytest.fixture(scope="module")
def ray_backend():
    from ray.util.joblib import register_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    register_ray()
    yield
    ray.shutdown()


def test_grid_hyperband_and_bagging_on_ray(ray_backend, digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3)
    with parallel_config(backend="ray"):
        grid = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2, n_jobs=2).fit(X, y)
        search = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2]}, max_resource=3, cv=2,
                                   n_jobs=2, random_state=0).fit(X, y)
        bag = BaggingClassifier(cnn, n_estimators=2, n_jobs=2, random_state=0).fit(X, y)
    # the same fits as on this process: seeded models do not depend on where they ran
    from sklearn_mlarch.utils import torch_threads

    with torch_threads(1):  # as on a 1-thread worker
        local = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2).fit(X, y)
    assert np.allclose(grid.cv_results_["mean_test_score"],
                       local.cv_results_["mean_test_score"])
    assert search.best_estimator_.n_iter_ == 3 and np.isfinite(
        search.cv_results_["mean_test_score"]).all()
    assert bag.score(X, y) > 0.6
