"""The estimators and searches on a real Dask LocalCluster through joblib."""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from joblib import parallel_config  # noqa: E402
from sklearn.ensemble import BaggingClassifier  # noqa: E402

import torch  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from sklearn_mlarch import CNNClassifier  # noqa: E402
from sklearn_mlarch.model_selection import HyperbandSearchCV  # noqa: E402
from sklearn_mlarch.utils._testing import fast_instance  # noqa: E402


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
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
    assert bag.score(X, y) > 0.6
    # Dask's nanny sets OMP_NUM_THREADS=1 for each 1-thread worker: one torch thread each
    assert {dict(m.net_.callbacks_)["_RecordThreads"].threads_ for m in bag.estimators_} == {1}
    assert search.best_estimator_.n_iter_ == 3
    # the workers really ran tasks, and fitted models came back pickled from them
    assert sum(dask_client.run(lambda dask_worker: len(dask_worker.state.log) > 0).values())
    local = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3).fit(X, y)
    assert np.isfinite(local.predict_proba(X)).all()
