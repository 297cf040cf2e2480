"""PrototypicalClassifier, its adapted PrototypeClassifier, and meta-validation early
stopping (shared with MAMLClassifier)."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from sklearn_mlarch import (CNNClassifier, FeedForwardClassifier, MAMLClassifier,
                            PrototypicalClassifier, load_model, save_model)
from sklearn_mlarch._training.prototypes import PrototypicalModule
from sklearn_mlarch.datasets import split_classes
from sklearn_mlarch.meta_learning import PrototypeClassifier, evaluate_adaptation
from sklearn_mlarch.networks import MLPNetwork


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return split_classes(X / 16, y, test_classes=[5, 6, 7, 8, 9])


@pytest.fixture(scope="module")
def proto(digits):
    X_train, _, y_train, _ = digits
    return PrototypicalClassifier(n_way=5, k_shot=1, n_query=5, meta_batch_size=4,
                                  n_meta_iter=200, random_state=0).fit(X_train, y_train)


def test_module_scores_queries_by_distance_to_their_episodes_prototypes():
    torch.manual_seed(0)
    network = MLPNetwork(3, 1, hidden_sizes=(4,))
    module = PrototypicalModule(network)
    Xs, ys = torch.randn(2, 4, 3), torch.tensor([[0, 1, 0, 1], [1, 1, 0, 0]])
    Xq = torch.randn(2, 5, 3)
    logits = module(Xs, ys, Xq).reshape(2, 5, 2)
    for t in range(2):  # by hand, one episode at a time
        es, eq = network.embed(Xs[t]), network.embed(Xq[t])
        protos = torch.stack([es[ys[t] == c].mean(0) for c in range(2)])
        expected = -((eq[:, None] - protos[None]) ** 2).sum(-1)
        assert_allclose(logits[t].detach(), expected.detach(), rtol=1e-5, atol=1e-5)


def test_meta_training_learns_an_embedding_for_episodes(digits, proto):
    X_train, _, y_train, _ = digits
    barely = clone(proto).set_params(n_meta_iter=1).fit(X_train, y_train)
    learned, initial = (evaluate_adaptation(est, X_train, y_train, k_shot=1, n_tasks=100,
                                            random_state=0) for est in (proto, barely))
    assert learned["steps"] == [0] and learned["metric"] == "accuracy"
    assert learned["mean"][0] > initial["mean"][0] + 0.05, (learned["mean"], initial["mean"])


def test_adapt_classifies_any_number_of_new_classes_with_any_labels(digits, proto):
    _, X_test, _, y_test = digits
    names = np.array(["five", "six", "seven", "eight", "nine"])[y_test - 5]
    model = proto.adapt(X_test[:40], names[:40])
    assert isinstance(model, PrototypeClassifier)
    assert_array_equal(model.classes_, np.unique(names[:40]))
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), len(model.classes_))
    assert_allclose(proba.sum(axis=1), 1)
    assert model.score(X_test, names) > 0.5
    two = proto.adapt(X_test[np.isin(y_test, [5, 6])][:10], y_test[np.isin(y_test, [5, 6])][:10])
    assert two.predict_proba(X_test[:3]).shape == (3, 2)
    with pytest.raises(ValueError, match="no gradient steps"):
        proto.adapt(X_test[:10], y_test[:10], steps=3)
    with pytest.raises(ValueError, match="no gradient steps"):
        evaluate_adaptation(proto, X_test, y_test, steps=[1], n_tasks=2)


def test_prototypes_are_the_class_means_of_the_embedding(digits, proto):
    _, X_test, _, y_test = digits
    model = proto.adapt(X_test[:30], y_test[:30])
    embedded = proto._embed(X_test[:30].astype(np.float32))
    for i, c in enumerate(model.classes_):
        assert_allclose(model.prototypes_[i], embedded[y_test[:30] == c].mean(0), rtol=1e-5)


def test_predict_uses_the_training_classes_prototypes_and_round_trips(digits, proto, tmp_path):
    X_train, _, y_train, _ = digits
    assert proto.score(X_train, y_train) > 0.8
    save_model(proto, tmp_path / "proto.skm")
    loaded = load_model(tmp_path / "proto.skm")
    assert_array_equal(loaded.predict_proba(X_train[:20]), proto.predict_proba(X_train[:20]))


def test_a_cnn_trunk_with_batch_norm_and_dropout_is_an_embedding(digits):
    X_train, X_test, y_train, y_test = digits
    base = CNNClassifier((1, 8, 8), channels=(8,), hidden_sizes=(), global_pool="avg")
    clf = PrototypicalClassifier(base, n_way=3, k_shot=1, n_query=2, n_meta_iter=5,
                                 random_state=0).fit(X_train, y_train)
    model = clf.adapt(X_test[:20], y_test[:20])
    assert model.prototypes_.shape == (len(np.unique(y_test[:20])), 8)
    # embedding is in evaluation mode: each row's prediction is its own
    assert_array_equal(model.predict(X_test[:5]), model.predict(X_test[:20])[:5])


def test_same_seed_same_model(digits):
    X_train, _, y_train, _ = digits
    make = lambda: PrototypicalClassifier(n_way=3, k_shot=1, n_meta_iter=30,  # noqa: E731
                                          random_state=3).fit(X_train, y_train)
    a, b = make(), make()
    for p, q in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(p, q)


# ------------------------------------------------------- meta-validation early stopping
class _Snapshots(Callback):
    """Keep a copy of the network's parameters at the end of every epoch."""

    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.clone() for k, v in net.module_.state_dict().items()})


@pytest.mark.parametrize("cls", [PrototypicalClassifier, MAMLClassifier])
def test_early_stopping_scores_held_out_classes_and_keeps_the_best(digits, cls):
    X_train, X_test, y_train, y_test = digits
    est = cls(FeedForwardClassifier(hidden_sizes=(40, 40), callbacks=[("snap", _Snapshots())]),
              n_way=2, k_shot=1, n_query=3, meta_batch_size=2, n_meta_iter=3000,
              early_stopping=True, validation_fraction=0.4, n_iter_no_change=2,
              random_state=0).fit(X_train, y_train)
    scores = est.history_[:, "valid_acc"]
    assert 0 < est.n_meta_iter_ < 3000 and len(scores) == est.n_meta_iter_ // 100
    best = int(np.argmax(scores))
    assert len(scores) - 1 - best == 2  # stopped after two scorings without progress
    # the network kept is the one of the best scoring
    kept = est.net_.module_.state_dict()
    snapshot = dict(est.net_.callbacks_)["snap"].states[best]
    assert all(torch.equal(kept[k], snapshot[k]) for k in kept)
    assert not hasattr(est, "_sampler_")  # no copy of the data is kept
    # meta-validation on other data: X_val, y_val
    other = cls(n_way=2, k_shot=1, n_query=3, meta_batch_size=2, n_meta_iter=300,
                early_stopping=True, n_iter_no_change=5, random_state=0)
    other.fit(X_train, y_train, X_val=X_test, y_val=y_test)
    assert len(other.history_[:, "valid_acc"]) == 3
    assert other.n_meta_iter_ == 300


@pytest.mark.parametrize("params, match", [
    (dict(n_way=None), "n_way=None uses every class"),
    (dict(n_way=4, validation_fraction=0.5), "leaving fewer than n_way"),
])
def test_early_stopping_says_what_it_needs(digits, params, match):
    X_train, _, y_train, _ = digits
    est = PrototypicalClassifier(early_stopping=True, n_meta_iter=5, **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X_train, y_train)
    assert not hasattr(est, "net_")


def test_validation_data_needs_early_stopping_and_enough_classes(digits):
    X_train, X_test, y_train, y_test = digits
    with pytest.raises(ValueError, match="early_stopping=True"):
        PrototypicalClassifier(n_way=2, n_meta_iter=5).fit(X_train, y_train, X_val=X_test,
                                                           y_val=y_test)
    with pytest.raises(ValueError, match="2 classes, fewer than n_way=3"):
        PrototypicalClassifier(n_way=3, early_stopping=True, n_meta_iter=5).fit(
            X_train, y_train, X_val=X_test[y_test < 7], y_val=y_test[y_test < 7])
    with pytest.raises(ValueError, match="both X_val and y_val"):
        PrototypicalClassifier(n_way=2, early_stopping=True, n_meta_iter=5).fit(
            X_train, y_train, X_val=X_test)


def test_wrapped_estimators_own_early_stopping_is_refused(digits):
    X_train, _, y_train, _ = digits
    est = PrototypicalClassifier(FeedForwardClassifier(early_stopping=True), n_meta_iter=5)
    with pytest.raises(ValueError, match="early_stopping=True to the meta-estimator"):
        est.fit(X_train, y_train)
