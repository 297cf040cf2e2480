"""The CUDA path of every estimator family; skipped on machines without a GPU.

CI has no GPU; these run wherever one is present (``pytest tests/test_gpu.py``).
"""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_mlarch import (CNNClassifier, CNNRegressor, DeepEnsembleClassifier,
                            MultiTaskClassifier, RNNClassifier, load_model, save_model)
from sklearn_mlarch.utils._testing import fast_instance

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CLASSIFIERS = [CNNClassifier, RNNClassifier, DeepEnsembleClassifier]


def _make(cls, **training):
    """The fast instance of cls; training settings go to the wrapped estimator of a
    meta-estimator (``estimator__device``)."""
    est = fast_instance(cls)
    prefix = "estimator__" if "estimator" in est.get_params(deep=False) else ""
    return est.set_params(**{prefix + k: v for k, v in training.items()})


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_fits_and_predicts_on_the_gpu(cls, blobs):
    X, y = blobs
    clf = _make(cls, device="cuda", max_epochs=20).fit(X, y)
    assert next(clf.net_.module_.parameters()).is_cuda
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.dtype == np.float64
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_same_seed_same_model_on_the_gpu(cls, blobs):
    X, y = blobs
    a = _make(cls, device="cuda").fit(X, y).predict_proba(X)
    b = _make(cls, device="cuda").fit(X, y).predict_proba(X)
    assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_resumed_fit_matches_one_long_fit_on_the_gpu(blobs):
    X, y = blobs
    long = fast_instance(CNNClassifier, device="cuda", max_epochs=6).fit(X, y)
    resumed = fast_instance(CNNClassifier, device="cuda", max_epochs=3, warm_start=True)
    resumed.fit(X, y).fit(X, y)
    assert_allclose(resumed.predict_proba(X), long.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_gpu_model_matches_cpu_model(blobs):
    X, y = blobs
    gpu = fast_instance(CNNRegressor, device="cuda").fit(X, X[:, 0])
    cpu = fast_instance(CNNRegressor, device="cpu").fit(X, X[:, 0])
    assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-3, atol=1e-3)


def test_multitask_on_the_gpu(blobs):
    X, y = blobs
    Y = np.c_[y, (X[:, 0] > 0).astype(int)]
    clf = _make(MultiTaskClassifier, device="cuda", max_epochs=20).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8


def test_gpu_model_saved_and_pickled_loads_on_the_cpu(blobs, tmp_path):
    X, y = blobs
    clf = fast_instance(CNNClassifier, device="cuda").fit(X, y)
    expected = clf.predict_proba(X)
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model", device="cpu")
    assert not next(loaded.net_.module_.parameters()).is_cuda
    assert_allclose(loaded.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
    unpickled = pickle.loads(pickle.dumps(clf))
    assert_array_equal(unpickled.predict(X), clf.predict(X))


def test_maml_on_the_gpu():
    from sklearn_mlarch import MAMLRegressor
    from sklearn_mlarch.datasets import SinusoidTasks

    tasks = SinusoidTasks()
    X, y, _ = tasks.make_tasks(1, 20, random_state=1)
    gpu = _make(MAMLRegressor, device="cuda").fit(tasks)
    cpu = _make(MAMLRegressor, device="cpu").fit(tasks)
    assert next(gpu.net_.module_.parameters()).is_cuda
    assert_allclose(gpu.adapt(X[:10], y[:10]).predict(X), cpu.adapt(X[:10], y[:10]).predict(X),
                    rtol=1e-3, atol=1e-3)


def test_dropout_on_the_gpu_is_seeded_and_resumable(blobs):
    # on a GPU dropout uses torch's fused kernel, seeded per epoch
    X, y = blobs
    params = dict(device="cuda", dropout=0.5)
    a = fast_instance(CNNClassifier, max_epochs=6, **params).fit(X, y).predict_proba(X)
    b = fast_instance(CNNClassifier, max_epochs=6, **params).fit(X, y).predict_proba(X)
    assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    resumed = fast_instance(CNNClassifier, max_epochs=3, warm_start=True, **params)
    assert_allclose(resumed.fit(X, y).fit(X, y).predict_proba(X), a, rtol=1e-5, atol=1e-6)
    other = fast_instance(CNNClassifier, max_epochs=6, random_state=1, **params).fit(X, y)
    assert not np.allclose(other.predict_proba(X), a)


def test_maml_saved_on_the_gpu_loads_on_the_cpu(tmp_path):
    from sklearn_mlarch import MAMLRegressor
    from sklearn_mlarch.datasets import SinusoidTasks

    X, y, groups = SinusoidTasks().make_tasks(6, 12, random_state=0)
    gpu = _make(MAMLRegressor, device="cuda").fit(X, y, groups)
    loaded = load_model(save_model(gpu, tmp_path / "m"), estimator__device="cpu")
    assert not next(loaded.net_.module_.parameters()).is_cuda
    assert not any(p.is_cuda for p in loaded.training_task_.params_.values())
    assert_allclose(loaded.predict(X), gpu.predict(X), rtol=1e-5, atol=1e-6)
