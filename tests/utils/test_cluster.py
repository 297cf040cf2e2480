"""The estimators and searches on a real Dask LocalCluster through joblib."""

import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from joblib import parallel_config  # noqa: E402
from sklearn.ensemble import BaggingClassifier  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import torch  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from sklearn_mlarch import CNNClassifier  # noqa: E402
from sklearn_mlarch.model_selection import HyperbandSearchCV  # noqa: E402
from sklearn_mlarch.utils._testing import fast_instance  # noqa: E402


@pytest.fixture(scope="module")
def dask_client():
    import dask

    # a task that killed 2 workers is reported as failed (KilledWorker): the
    # fault test needs no more restarts than that
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


class _RecordThreads(Callback):
    def on_train_begin(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def test_bagging_and_hyperband_on_dask_workers(dask_client, digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3,
                        callbacks=[_RecordThreads()])
    with parallel_config(backend="dask"):
        bag = BaggingClassifier(cnn, n_estimators=2, n_jobs=2, random_state=0).fit(X, y)
        search = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2]}, max_resource=3, cv=2,
                                   n_jobs=2, random_state=0).fit(X, y)
        grid = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2, n_jobs=2).fit(X, y)
    # seeded fits do not depend on where they ran
    from sklearn_mlarch.utils import torch_threads

    with torch_threads(1):  # as on a 1-thread worker
        local_grid = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2).fit(X, y)
    assert np.allclose(grid.cv_results_["mean_test_score"],
                       local_grid.cv_results_["mean_test_score"])
    assert bag.score(X, y) > 0.6
    # Dask's nanny sets OMP_NUM_THREADS=1 for each 1-thread worker: one torch thread each
    assert {dict(m.net_.callbacks_)["_RecordThreads"].threads_ for m in bag.estimators_} == {1}
    assert search.best_estimator_.n_iter_ == 3
    # the workers really ran tasks, and fitted models came back pickled from them
    assert sum(dask_client.run(lambda dask_worker: len(dask_worker.state.log) > 0).values())
    local = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3).fit(X, y)
    assert np.isfinite(local.predict_proba(X)).all()


class _CountUnpickling(CNNClassifier):
    """Counts how often a fitted model arrives in this (the driver's) process.

    The class attribute is per process: workers count their own. Unfitted
    clones sent out are unpickled here too, by the in-process scheduler.
    """

    arrivals = 0

    def __setstate__(self, state):
        if "net_" in state:
            type(self).arrivals += 1
        super().__setstate__(state)


@pytest.mark.parametrize("scheduler", ["parallel", "async"])
def test_hyperband_keeps_models_on_the_workers(dask_client, digits, scheduler):
    X, y = digits
    cnn = _CountUnpickling(**{**fast_instance(CNNClassifier).get_params(),
                              "input_shape": (1, 8, 8), "max_epochs": 9})
    _CountUnpickling.arrivals = 0
    with parallel_config(backend="dask"):
        search = HyperbandSearchCV(cnn, {"lr": [5e-3, 1e-2, 2e-2, 3e-2]}, cv=2,
                                   scheduler=scheduler, random_state=0).fit(X, y)
    res = search.cv_results_
    assert "resume" in set(res["continuation"])  # models were continued...
    assert _CountUnpickling.arrivals == 0  # ...where they were, never sent to the driver
    assert np.isfinite(res["mean_test_score"]).all()
    assert search.best_estimator_.n_iter_ == 9


def test_dask_search_equals_the_local_one(dask_client):
    from ..model_selection.test_hyperband import EpochCounter, _data

    X, y = _data()
    kwargs = dict(max_resource=9, cv=2, random_state=0)
    space = {"quality": np.linspace(0, 0.5, 20)}
    local = HyperbandSearchCV(EpochCounter(), space, **kwargs).fit(X, y)
    with parallel_config(backend="dask"):
        remote = HyperbandSearchCV(EpochCounter(), space, **kwargs).fit(X, y)
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    assert np.array_equal(remote.cv_results_["mean_test_score"],
                          local.cv_results_["mean_test_score"])


class _KillsItsWorker(Callback):
    """Ends its worker process when training starts: always, or once (a flag file)."""

    def __init__(self, flag=None):
        self.flag = flag

    def on_train_begin(self, net, **kwargs):
        import os

        if self.flag is None or not os.path.exists(self.flag):
            if self.flag:
                open(self.flag, "w").close()
            os._exit(1)


def test_a_killed_worker_is_retried_or_reported_never_a_hang(dask_client, digits, tmp_path):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3)
    once = [_KillsItsWorker(flag=str(tmp_path / "killed"))]
    with parallel_config(backend="dask"):
        search = HyperbandSearchCV(cnn.set_params(callbacks=once), {"lr": [1e-2, 2e-2]},
                                   cv=2, random_state=0).fit(X, y)
    assert (tmp_path / "killed").exists()  # a worker really died mid-search...
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()  # ...and Dask retried

    space = {"lr": [1e-2, 2e-2], "callbacks": [None, [_KillsItsWorker()]]}
    search = HyperbandSearchCV(cnn.set_params(callbacks=None), space, cv=2,
                               error_score=-1.0, random_state=0)
    with parallel_config(backend="dask"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            search.fit(X, y)
        except ValueError as exc:
            # a fit queued on a worker that a killer takes down is counted as
            # suspicious by Dask too: when every fit met one, all are reported
            # failed (scikit-learn's "All the N fits failed"), still no hang
            assert "fits failed" in str(exc) and "KilledWorker" in str(exc)
            return
    assert any(issubclass(w.category, FitFailedWarning) for w in caught)
    res = search.cv_results_
    killer = np.array([p["callbacks"] is not None for p in res["params"]])
    assert killer.any() and (~killer).any()
    assert (res["mean_test_score"][killer] == -1).all()  # reported as failed fits
    # every fold is a real score or a reported failure, nothing lost or hung;
    # which innocent folds finish beside a killer is a race
    folds = np.array([res[f"split{i}_test_score"] for i in range(2)])
    assert (folds[:, killer] == -1).all()
    assert ((folds == -1) | ((folds >= 0) & (folds <= 1))).all()


def test_a_lost_future_is_cancelled_not_awaited(dask_client):
    """A fit whose result never comes back is settled as failed after the limit."""
    import time

    from sklearn_mlarch.model_selection._engines import _settle

    fast = dask_client.submit(abs, -1)
    slow = dask_client.submit(time.sleep, 5, pure=False)  # stands in for a lost one

    class _Lost:  # a future Dask reports lost and never recomputes
        def __init__(self, future):
            self.future, self.key = future, future.key

        @property
        def status(self):
            return "cancelled" if self.future.cancelled() else "lost"

        def cancel(self):
            self.future.cancel()

        def __getattr__(self, name):
            return getattr(self.future, name)

    class _FinishesLater:  # pending at the first look, whatever the machine's load
        def __init__(self, future):
            self.future, self.key, self.looks = future, future.key, 0

        @property
        def status(self):
            self.looks += 1
            return "pending" if self.looks == 1 else self.future.status

        def __getattr__(self, name):
            return getattr(self.future, name)

    lost = _Lost(slow)
    seen = {}  # the engine's clock: kept across calls (one per finished fit in ASHA)
    later = _FinishesLater(fast)
    assert _settle([later, lost], any_=True, lost_after=60, lost_since=seen) == {later}
    assert lost.key in seen
    settled = _settle([fast, lost], lost_after=0.5)
    assert settled == {fast, lost} and slow.cancelled() and fast.result() == 1
