"""HyperbandSearchCV's schedulers: waves of all brackets, and asynchronous (ASHA)."""

import numpy as np
import pytest
from scipy.stats import loguniform

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.model_selection import HyperbandSearchCV, hyperband_schedule
from sklearn_mlarch.utils._testing import fast_instance

from .test_hyperband import EpochCounter, _data


def _async(**kwargs):
    X, y = _data()
    space = {"quality": np.linspace(0, 0.9, 200)}
    return HyperbandSearchCV(EpochCounter(), space, max_resource=27, cv=2, random_state=0,
                             scheduler="async", **kwargs).fit(X, y)


def test_async_promotes_the_top_third_without_waiting_for_a_full_rung():
    search = _async()
    res = search.cv_results_
    n_configs = sum(b["rungs"][0][0] for b in hyperband_schedule(27, 3))
    assert (res["rung"] == 0).sum() == n_configs  # as many as the sync search samples
    assert set(res["n_resources"]) == {1, 3, 9, 27}
    # continued, never retrained: the score is the epochs trained (+ quality < 1)
    assert np.array_equal(np.floor(res["mean_test_score"]), res["n_resources"])
    assert set(res["continuation"][res["rung"] > 0]) == {"resume"}
    quality = res["param_quality"].astype(float)
    order = list(zip(res["rung"], quality))
    for row, (rung, q) in enumerate(order):
        if rung == 0:
            continue
        # promoted from rung - 1 while among the best third of the results it had
        below = [q2 for r2, q2 in order[:row] if r2 == rung - 1]
        assert q >= sorted(below, reverse=True)[len(below) // 3 - 1]
    assert search.best_params_["max_epochs"] == 27
    assert search.best_score_ == pytest.approx(27 + quality[res["n_resources"] == 27].max())
    assert search.best_estimator_.epochs_ == 27


def test_async_with_one_job_is_reproducible():
    a, b = _async(), _async()
    assert a.cv_results_["params"] == b.cv_results_["params"]


def test_async_on_process_workers(digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), channels=(4,), max_epochs=9)
    search = HyperbandSearchCV(cnn, {"lr": loguniform(3e-3, 3e-2)}, cv=2, n_jobs=2,
                               scheduler="async", random_state=0).fit(X, y)
    res = search.cv_results_
    assert set(res["n_resources"]) == {1, 3, 9}
    assert np.isfinite(res["mean_test_score"]).all()
    assert search.best_estimator_.n_iter_ == 9 and search.best_score_ > 0.6


def test_grid_hyperband_and_bagging_on_loky_processes(digits):
    from sklearn.ensemble import BaggingClassifier
    from sklearn.model_selection import GridSearchCV

    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3)
    grid = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2, n_jobs=2).fit(X, y)
    from sklearn_mlarch.utils import torch_threads

    with torch_threads(1):  # as on each of 2 workers on 2 cores
        local = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2).fit(X, y)
        alone = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2]}, max_resource=3, cv=2,
                                  random_state=0).fit(X, y)
    assert np.allclose(grid.cv_results_["mean_test_score"],
                       local.cv_results_["mean_test_score"])
    search = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2]}, max_resource=3, cv=2,
                               n_jobs=2, random_state=0).fit(X, y)
    assert np.allclose(search.cv_results_["mean_test_score"],
                       alone.cv_results_["mean_test_score"])
    bag = BaggingClassifier(cnn, n_estimators=2, n_jobs=2, random_state=0).fit(X, y)
    assert bag.score(X, y) > 0.6
