"""Hostile-user findings on the few-shot learners (PrototypicalClassifier, MAMLClassifier
with transductive batch norm, meta-validation early stopping), tiny configurations.

Tests marked as bugs fail on the code they were written against; the others pin
behaviour worth keeping.
"""

import threading

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from sklearn_mlarch import (CNNClassifier, FeedForwardClassifier, MAMLClassifier,
                            PrototypicalClassifier, TorchModuleClassifier)


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return X[y < 7], y[y < 7], X[y >= 7], y[y >= 7]


def _small(kind, estimator=None, **params):
    settings = dict(n_way=3, k_shot=2, n_query=2, n_meta_iter=5, random_state=0)
    if kind is MAMLClassifier:
        settings["meta_batch_size"] = 2
    settings.update(params)
    return kind(estimator or FeedForwardClassifier(hidden_sizes=(8,)), **settings)


def _cnn(**params):
    return CNNClassifier((1, 8, 8), channels=(4,), dropout=0.0, **params)


def _support(X, y, per_class=5):
    rows = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])
    return X[rows], y[rows]


# ---------------------------------------------------------------- bugs


def test_transductive_batch_norm_prediction_does_not_depend_on_row_order(data):
    # BUG: MAML's predictions go through in_fixed_chunks, which pads the last chunk
    # with copies of the last row; with transductive batch norm those copies enter
    # the batch statistics, so a row's probabilities depend on which row comes last
    # (and a single row padded to a chunk of copies has no statistics at all)
    X_train, y_train, X_new, y_new = data
    body = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.BatchNorm1d(16),
                               torch.nn.ReLU())
    maml = _small(MAMLClassifier, TorchModuleClassifier(body)).fit(X_train, y_train)
    model = maml.adapt(*_support(X_new, y_new))
    X = X_new[100:110]
    order = np.r_[np.arange(1, 10), 0]
    proba = model.predict_proba(X)
    reordered = model.predict_proba(X[order])[np.argsort(order)]
    assert_allclose(reordered, proba, atol=1e-5)


def test_concurrent_predictions_leave_a_prototypical_network_unchanged(data):
    # BUG: _BaseEpisodic._embed switches the shared network to eval mode and back
    # to the mode it found; the network is left in training mode after fit, so
    # concurrent predictions race: one restores training mode while another
    # embeds, and batch norm then updates its running statistics from the rows
    # being predicted (predictions change for good). The interleaving is forced
    # with a hook on the batch-norm layer.
    X_train, y_train, _, _ = data
    proto = _small(PrototypicalClassifier, _cnn()).fit(X_train, y_train)
    before = {k: v.clone() for k, v in proto.net_.module_.state_dict().items()}
    expected = proto.predict_proba(X_train[:3])
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()

    def hook(module, args):
        if threading.current_thread().name == "A":
            a_inside.set()
            b_inside.wait(10)
        elif threading.current_thread().name == "B":
            b_inside.set()
            a_done.wait(10)

    def first():
        proto.predict_proba(X_train[:3])
        a_done.set()

    norm = next(m for m in proto.net_.module_.modules()
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    handle = norm.register_forward_pre_hook(hook)
    try:
        a = threading.Thread(target=first, name="A")
        b = threading.Thread(target=lambda: proto.predict_proba(X_train[3:6]), name="B")
        a.start()
        a_inside.wait(10)
        b.start()
        a.join()
        b.join()
    finally:
        handle.remove()
    after = proto.net_.module_.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])] == []
    assert_allclose(proto.predict_proba(X_train[:3]), expected)


def test_maml_with_batch_norm_starts_from_a_fitted_batch_norm_network(data):
    # BUG: transductive_batch_norm drops the running statistics from MAML's
    # network, so LoadWeights finds the source's running_mean "absent here" and
    # refuses init_from with "Build the same trunk" although the trunk is the same
    X_train, y_train, _, _ = data
    source = _cnn(max_epochs=1, random_state=0).fit(X_train, y_train)
    maml = _small(MAMLClassifier, _cnn(init_from=source)).fit(X_train, y_train)
    assert maml.n_meta_iter_ == 5


def test_a_network_starts_from_maml_with_batch_norm(data):
    # BUG: the reverse direction: MAML's saved trunk lacks the running statistics
    # that CNNClassifier's batch norm has, and init_from is refused
    X_train, y_train, _, _ = data
    maml = _small(MAMLClassifier, _cnn()).fit(X_train, y_train)
    clf = _cnn(max_epochs=1, init_from=maml, random_state=0).fit(X_train, y_train)
    assert clf.n_iter_ == 1


@pytest.mark.parametrize("kind", [PrototypicalClassifier, MAMLClassifier])
def test_warm_start_refuses_labels_outside_classes(kind, data):
    # BUG: EpisodeTargets.encode searchsorts y into classes_ without checking
    # membership: string labels of integer classes are accepted silently, and
    # training_task_ then predicts strings while classes_ holds ints
    X_train, y_train, _, _ = data
    est = _small(kind, n_way=7 if kind is MAMLClassifier else 3)
    est.set_params(estimator__warm_start=True).fit(X_train, y_train)
    with pytest.raises(ValueError):
        est.fit(X_train, y_train.astype(str))
    assert est.n_meta_iter_ == 5


def test_warm_start_with_early_stopping_refuses_new_classes_with_a_value_error(data):
    # BUG: unseen labels reach _split_validation as codes past the end of
    # classes_: IndexError from held[codes] instead of a ValueError naming them
    X_train, y_train, X_new, y_new = data
    proto = _small(PrototypicalClassifier, early_stopping=True)
    proto.set_params(estimator__warm_start=True).fit(X_train, y_train)
    with pytest.raises(ValueError):
        proto.fit(X_new, y_new)


def test_prototypes_accept_a_column_vector_of_labels(data):
    # BUG: fit takes y of shape (n, 1), adapt does not: np.unique(return_inverse)
    # keeps the column shape and class_prototypes fails with an IndexError
    X_train, y_train, X_new, y_new = data
    proto = _small(PrototypicalClassifier).fit(X_train, y_train)
    Xs, ys = _support(X_new, y_new)
    expected = proto.adapt(Xs, ys).predict_proba(X_new[:5])
    column = proto.adapt(Xs, ys[:, None])  # a DataConversionWarning would be fine
    assert_array_equal(column.classes_, [7, 8, 9])
    assert_allclose(column.predict_proba(X_new[:5]), expected)


# ------------------------------------------------------ good behaviour


@pytest.mark.parametrize("kind", [PrototypicalClassifier, MAMLClassifier])
@pytest.mark.parametrize("bad", [
    lambda Xv, yv: dict(X_val=Xv[:, :10], y_val=yv),                 # feature count
    lambda Xv, yv: dict(X_val=Xv, y_val=yv[:-1]),                    # length
    lambda Xv, yv: dict(X_val=Xv[yv < 9], y_val=yv[yv < 9]),         # fewer than n_way
    lambda Xv, yv: dict(X_val=Xv, y_val=np.where(yv == 7, np.nan, yv)),
    lambda Xv, yv: dict(X_val=Xv),                                   # y_val missing
])
def test_failed_fit_with_bad_validation_data_leaves_the_estimator_unchanged(kind, bad, data):
    X_train, y_train, X_new, y_new = data
    est = _small(kind, early_stopping=True).fit(X_train, y_train)
    attributes, params = dict(vars(est)), est.get_params()
    weights = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    with pytest.raises(ValueError):
        est.fit(X_train, y_train, **bad(X_new, y_new))
    assert vars(est).keys() == attributes.keys()
    assert all(vars(est)[k] is v for k, v in attributes.items())
    assert est.get_params().keys() == params.keys()
    assert all(torch.equal(weights[k], v) for k, v in est.net_.module_.state_dict().items())


@pytest.mark.parametrize("kind", [PrototypicalClassifier, MAMLClassifier])
def test_early_stopping_warm_start_continues_and_scores_each_epoch(kind, data):
    X_train, y_train, _, _ = data
    est = _small(kind, early_stopping=True).set_params(estimator__warm_start=True)
    est.fit(X_train, y_train).fit(X_train, y_train)
    assert (est.n_meta_iter_, est.n_iter_) == (10, 2)
    assert len(est.net_.history[:, "valid_acc"]) == 2


@pytest.mark.parametrize("kind", [PrototypicalClassifier, MAMLClassifier])
def test_same_seed_same_model_in_a_thread(kind, data):
    X_train, y_train, _, _ = data
    states = {}

    def fit(key):
        est = _small(kind, early_stopping=True).fit(X_train, y_train)
        states[key] = est.net_.module_.state_dict()

    fit("main")
    thread = threading.Thread(target=fit, args=("thread",))
    thread.start()
    thread.join()
    assert all(torch.equal(states["main"][k], states["thread"][k]) for k in states["main"])


def test_shared_head_adapts_to_more_classes_than_n_way_and_unshared_refuses(data):
    X_train, y_train, X_new, y_new = data
    shared = _small(MAMLClassifier, n_way=2).fit(X_train, y_train)
    assert shared.adapt(*_support(X_new, y_new)).predict_proba(X_new[:4]).shape == (4, 3)
    unshared = _small(MAMLClassifier, n_way=2, shared_head=False).fit(X_train, y_train)
    with pytest.raises(ValueError, match="without a shared head"):
        unshared.adapt(*_support(X_new, y_new))
