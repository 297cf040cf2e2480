"""Behaviour shared by every neural estimator, checked on all four."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from skorch.callbacks import Callback

from sklearn_mlarch import CNNClassifier, CNNRegressor, RNNClassifier, RNNRegressor
from sklearn_mlarch._training import TrainingDivergedError
from sklearn_mlarch.utils._testing import fast_instance

ALL = [CNNClassifier, CNNRegressor, RNNClassifier, RNNRegressor]
CLASSIFIERS = [CNNClassifier, RNNClassifier]


def _fit(cls, X, y, **params):
    return fast_instance(cls, max_epochs=3, **params).fit(X, y)


# --------------------------------------------------------------- labels & input
@pytest.mark.parametrize("cls", CLASSIFIERS)
@pytest.mark.parametrize("labels", [np.array(["cat", "dog"]), np.array([10, 100]),
                                    np.array([-1.0, 3.0]), np.array([False, True])])
def test_any_label_type(cls, blobs, labels):
    X, y = blobs
    y = labels[y]
    clf = fast_instance(cls, max_epochs=20).fit(X, pd.Series(y))
    assert_array_equal(clf.classes_, np.unique(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("cls", ALL)
def test_float64_int_and_pandas_input_give_same_model(cls, blobs):
    X, y = blobs
    Xi = np.round(X * 4).astype(np.int64)
    a = _fit(cls, Xi.astype(np.float64), y).predict(Xi)
    b = _fit(cls, Xi, y).predict(Xi)
    c = _fit(cls, pd.DataFrame(Xi, columns=[f"f{i}" for i in range(8)]), y).predict(Xi)
    assert_allclose(a, b)
    assert_allclose(a, c)


def test_multi_output_regression(blobs):
    X, _ = blobs
    Y = np.c_[X[:, 0] * 100, -X[:, 1]]
    reg = fast_instance(CNNRegressor).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == (len(X), 2) and pred.dtype == np.float64
    assert reg.score(X, Y) > 0.8  # targets on different scales both learned


def test_flat_rows_with_input_shape_equal_nd_arrays(digits):
    X, y = digits
    flat = _fit(CNNClassifier, X, y, input_shape=(1, 8, 8))
    nd = _fit(CNNClassifier, X.reshape(-1, 1, 8, 8), y)
    assert flat.input_shape_ == nd.input_shape_ == (1, 8, 8)
    assert flat.n_features_in_ == nd.n_features_in_ == 64
    assert_allclose(flat.predict_proba(X), nd.predict_proba(X.reshape(-1, 1, 8, 8)))


# ------------------------------------------------------------------ weights
@pytest.mark.parametrize("cls", ALL)
def test_weight_two_equals_duplicated_sample(cls, blobs):
    X, y = blobs
    X, y = X[:30], np.r_[y[:15], 1 - y[:15]]
    params = dict(batch_size="full", optimizer="sgd", lr=0.1, max_epochs=10, dropout=0.0)
    if cls.__name__.startswith("CNN"):
        params["batch_norm"] = False
    w = np.ones(len(X))
    w[3] = 2
    weighted = fast_instance(cls, **params).fit(X, y, sample_weight=w)
    duplicated = fast_instance(cls, **params).fit(np.vstack([X, X[3:4]]), np.r_[y, y[3]])
    out = "predict_proba" if hasattr(weighted, "predict_proba") else "predict"
    assert_allclose(getattr(weighted, out)(X), getattr(duplicated, out)(X), atol=1e-5)
    unweighted = fast_instance(cls, **params).fit(X, y)
    assert not np.allclose(getattr(weighted, out)(X), getattr(unweighted, out)(X), atol=1e-5)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 20.0}])
def test_class_weight_favours_the_weighted_class(blobs, class_weight):
    X, y = blobs
    X, y = X[:70], y[:70]  # 60 of class 0, 10 of class 1
    X = X + np.random.RandomState(1).randn(*X.shape) * 2  # overlapping classes
    plain = fast_instance(CNNClassifier, max_epochs=10).fit(X, y)
    weighted = fast_instance(CNNClassifier, max_epochs=10, class_weight=class_weight).fit(X, y)
    assert (weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean())


def test_weights_reach_the_batches_scaled_to_a_mean_of_one(blobs):
    X, y = blobs
    est = fast_instance(CNNClassifier, class_weight={0: 1000, 1: 1e-4})
    est.fit(X, y)
    sw = est.targets_.sample_weight(np.ones(len(y)), np.searchsorted(est.classes_, y),
                                    np.float32)
    assert sw.mean() == pytest.approx(1.0, rel=1e-5)
    assert sw[y == 0].min() / sw[y == 1].max() == pytest.approx(1e7, rel=1e-4)


def test_class_weight_with_unknown_label_errors(blobs):
    with pytest.raises(ValueError, match="class_weight has labels"):
        _fit(CNNClassifier, *blobs, class_weight={0: 1, 7: 2})


def test_negative_or_zero_sum_sample_weight_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="(?i)negative"):
        _fit(CNNClassifier, X, y).fit(X, y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="non-zero|sums to zero"):
        _fit(CNNClassifier, X, y).fit(X, y, sample_weight=np.zeros(len(X)))


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("cls", ALL)
def test_random_state_reproducible(cls, blobs):
    X, y = blobs
    params = dict(dropout=0.3)
    a = _fit(cls, X, y, random_state=3, **params).predict(X)
    b = _fit(cls, X, y, random_state=3, **params).predict(X)
    assert_array_equal(a, b)
    if cls in (CNNRegressor, RNNRegressor):
        assert not np.allclose(a, _fit(cls, X, y, random_state=4, **params).predict(X))


@pytest.mark.parametrize("cls", ALL)
def test_partial_fit_trains_exactly_one_epoch(cls, blobs):
    X, y = blobs
    est = fast_instance(cls)
    for epoch in (1, 2, 3):
        est.partial_fit(X, y)
        assert est.n_iter_ == epoch == len(est.history_)


def test_partial_fit_classes_and_unseen_labels(blobs):
    X, y = blobs
    clf = fast_instance(CNNClassifier).partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, y + 5)


def test_partial_fit_sequence_is_reproducible(blobs):
    X, y = blobs
    runs = []
    for _ in range(2):
        est = fast_instance(CNNRegressor, random_state=5)
        for _ in range(3):
            est.partial_fit(X, y)
        runs.append(est.predict(X))
    assert_array_equal(*runs)


@pytest.mark.parametrize("cls", [CNNClassifier, RNNRegressor])
def test_warm_start_continues_training(cls, blobs):
    X, y = blobs
    est = _fit(cls, X, y, warm_start=True)
    before = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    est.fit(X, y)
    assert est.n_iter_ == 6
    cold = _fit(cls, X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 3
    after = est.net_.module_.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_early_stopping_stops_and_restores_best(digits):
    X, y = digits
    clf = fast_instance(CNNClassifier, max_epochs=200, early_stopping=True,
                        n_iter_no_change=3, validation_fraction=0.2).fit(X, y)
    valid = clf.history_[:, "valid_loss"]
    assert clf.n_iter_ < 200
    assert np.argmin(valid) == len(valid) - 1 - 3  # stopped 3 epochs after the best


def test_callbacks_and_net_reachable(blobs):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    clf = _fit(CNNClassifier, *blobs, callbacks=[counter])
    assert not hasattr(counter, "epochs")  # the user's object is not mutated by fit
    assert dict(clf.net_.callbacks_)["CountEpochs"].epochs == 3  # its copy in the net
    assert isinstance(clf.net_.module_, torch.nn.Module)
    assert len(clf.history_[:, "train_loss"]) == 3


def test_verbose_prints_epoch_table_and_default_is_silent(blobs, capsys):
    _fit(CNNClassifier, *blobs)
    assert capsys.readouterr().out == ""
    _fit(CNNClassifier, *blobs, verbose=1)
    out = capsys.readouterr().out
    assert "train loss" in out and "epoch 1/" in out


def test_transform_features_is_penultimate_layer(blobs):
    clf = _fit(CNNClassifier, *blobs)
    feats = clf.transform_features(blobs[0])
    assert feats.shape == (len(blobs[0]), 16)  # hidden_sizes=(16,) in the fast config
    logits = clf.net_.module_.head(torch.as_tensor(feats, dtype=torch.float32))
    assert_allclose(logits.argmax(1).numpy(), np.searchsorted(clf.classes_,
                                                              clf.predict(blobs[0])))


# ------------------------------------------------------------------ devices
def test_device_auto_resolves_to_available_device(blobs):
    clf = _fit(CNNClassifier, *blobs, device="auto")
    assert str(clf.net_.device) == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(blobs):
    with pytest.raises(ValueError, match="device='cuda'.*device='auto'"):
        _fit(CNNClassifier, *blobs, device="cuda")


def test_gpu_pickle_loads_on_cpu_only_machine(blobs, monkeypatch):
    clf = _fit(CNNClassifier, *blobs)
    expected = clf.predict_proba(blobs[0])
    clf.net_.device = "cuda"  # as if fitted on a GPU
    data = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loads quietly
        loaded = pickle.loads(data)
    assert str(loaded.net_.device) == "cpu"
    assert_allclose(loaded.predict_proba(blobs[0]), expected)


# ------------------------------------------------------------------ bad input
BAD_X = [
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), "NaN"),
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), "infinity"),
    (lambda X: X[:0], "0 sample"),
    (lambda X: X[:1], "minimum of 2"),
    (lambda X: sp.csr_matrix(X), "[Ss]parse"),
]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("make_bad, message", BAD_X)
def test_bad_X_at_fit(cls, blobs, make_bad, message):
    X, y = blobs
    Xb = make_bad(X)
    yb = y[:Xb.shape[0]]
    with pytest.raises((ValueError, TypeError), match=message):
        fast_instance(cls).fit(Xb, yb)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_single_class(cls, blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="at least 2 classes"):
        fast_instance(cls).fit(X, np.zeros(len(X)))


@pytest.mark.parametrize("cls", ALL)
def test_wrong_n_features_at_predict(cls, blobs):
    est = _fit(cls, *blobs)
    with pytest.raises(ValueError, match="features"):
        est.predict(blobs[0][:, :5])


def test_wrong_nd_shape_at_predict(digits):
    X, y = digits
    est = _fit(CNNClassifier, X.reshape(-1, 1, 8, 8), y)
    with pytest.raises(ValueError, match="samples of shape"):
        est.predict(X.reshape(-1, 1, 8, 8)[:, :, :4])


@pytest.mark.parametrize("cls, shape", [(CNNClassifier, (1, 9, 9)), (RNNClassifier, (9, 9)),
                                        (CNNRegressor, (64,)), (RNNRegressor, (2, 4, 8))])
def test_X_that_does_not_fit_input_shape(cls, digits, shape):
    with pytest.raises(ValueError, match="input_shape"):
        fast_instance(cls, input_shape=shape).fit(*digits)


@pytest.mark.parametrize("cls", ALL)
def test_predict_before_fit(cls, blobs):
    with pytest.raises(NotFittedError):
        cls().predict(blobs[0])


def test_failed_fit_leaves_estimator_unfitted(blobs):
    X, y = blobs
    clf = fast_instance(CNNClassifier)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.zeros(len(X)))
    with pytest.raises(NotFittedError):
        clf.predict(X)


@pytest.mark.parametrize("cls", ALL)
def test_diverging_loss_stops_with_epoch_and_lr(cls, blobs):
    X, y = blobs
    est = fast_instance(cls, optimizer="sgd", lr=1e38, max_epochs=50)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*Lower the learning rate"):
        est.fit(X * 1e6, y)


def test_invalid_parameter_names_the_parameter(blobs):
    with pytest.raises(ValueError, match="max_epochs"):
        CNNClassifier(max_epochs=0).fit(*blobs)


# ------------------------------------------------------------------ scikit-learn integration
@pytest.mark.parametrize("cls", ALL)
def test_clone_unfitted_and_pickle_fitted(cls, blobs):
    est = cls(max_epochs=2)
    assert clone(est).get_params() == est.get_params()
    fitted = _fit(cls, *blobs)
    loaded = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(loaded.predict(blobs[0]), fitted.predict(blobs[0]))


def test_cross_val_score_in_parallel_processes(digits):
    X, y = digits
    scores = cross_val_score(fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=5),
                             X, y, cv=3, n_jobs=2)
    assert scores.shape == (3,) and scores.min() > 0.6
