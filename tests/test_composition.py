"""Every meta-estimator composes every base estimator: a new architecture reaches
multi-task learning, deep ensembles and MAML without code of its own."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from sklearn_mlarch import (CNNClassifier, CNNRegressor, DeepEnsembleClassifier,
                            DeepEnsembleRegressor, FeedForwardClassifier, FeedForwardRegressor,
                            MAMLClassifier, MAMLRegressor, MultiTaskClassifier,
                            PrototypicalClassifier,
                            MultiTaskRegressor, RNNClassifier, RNNRegressor,
                            TorchModuleClassifier, TorchModuleRegressor)

TINY = dict(max_epochs=2, batch_size=16, lr=1e-2)
CLASSIFIERS = [
    CNNClassifier(channels=(4,), batch_norm=False, dropout=0.0, **TINY),
    RNNClassifier(hidden_size=4, **TINY),
    FeedForwardClassifier(hidden_sizes=(8,), **TINY),
    TorchModuleClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8)),
                          **TINY),
]
REGRESSORS = [
    CNNRegressor(channels=(4,), batch_norm=False, dropout=0.0, **TINY),
    RNNRegressor(hidden_size=4, **TINY),
    FeedForwardRegressor(hidden_sizes=(8,), **TINY),
    TorchModuleRegressor(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8)),
                         **TINY),
]


def _data(base):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 16)
    if not isinstance(base, (FeedForwardClassifier, FeedForwardRegressor)):
        X = X.reshape(60, 2, 8)  # (n, C, L): what the CNN and the RNN read alike
    y = (X.reshape(60, -1)[:, :4].sum(1) > 0).astype(int)
    return X, y, np.c_[y, X.reshape(60, -1)[:, 0] > 0]


@pytest.mark.parametrize("base", CLASSIFIERS, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize("meta", [MultiTaskClassifier, DeepEnsembleClassifier, MAMLClassifier,
                                  PrototypicalClassifier])
def test_every_meta_classifier_wraps_every_base(meta, base):
    X, y, Y = _data(base)
    kwargs = dict(n_meta_iter=3, k_shot=2, n_query=2, meta_batch_size=2) if meta in \
        (MAMLClassifier, PrototypicalClassifier) else {}
    est = meta(clone(base), random_state=0, **kwargs)
    target = Y if meta is MultiTaskClassifier else y
    est.fit(X, target)
    assert est.predict(X).shape == np.shape(target)
    assert est.n_features_in_ == 16
    if meta not in (MAMLClassifier, PrototypicalClassifier):  # same seed, same model
        again = meta(clone(base), random_state=0).fit(X, target)
        assert np.array_equal(again.predict(X), est.predict(X))


@pytest.mark.parametrize("base", REGRESSORS, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize("meta", [MultiTaskRegressor, DeepEnsembleRegressor, MAMLRegressor])
def test_every_meta_regressor_wraps_every_base(meta, base):
    X, _, _ = _data(base)
    flat = X.reshape(60, -1)
    Y = np.c_[flat[:, :4].sum(1), flat[:, 4]]
    kwargs = dict(n_meta_iter=3, k_shot=2, n_query=2, meta_batch_size=2) if meta is \
        MAMLRegressor else {}
    target = Y if meta is MultiTaskRegressor else Y[:, 0]
    est = meta(clone(base), random_state=0, **kwargs).fit(X, target)
    assert est.predict(X).shape == target.shape


def test_nested_parameters_are_searchable():
    X, y, _ = _data(CLASSIFIERS[2])
    search = GridSearchCV(DeepEnsembleClassifier(clone(CLASSIFIERS[2]), n_estimators=2,
                                                 random_state=0),
                          {"estimator__lr": [1e-3, 1e-2], "estimator__hidden_sizes": [(4,)]},
                          cv=2).fit(X, y)
    assert search.best_estimator_.estimator_.hidden_sizes == (4,)
    assert search.best_estimator_.net_.module_.head.weight.shape == (2, 2, 4)


def test_wrong_estimators_are_refused_with_the_fix():
    X, y, Y = _data(CLASSIFIERS[2])
    with pytest.raises(ValueError, match="wraps an estimator of this package that defines a "
                                         "network.*LogisticRegression"):
        DeepEnsembleClassifier(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="DeepEnsembleRegressor wraps a regressor, got "
                                         "FeedForwardClassifier. Pass FeedForwardRegressor"):
        DeepEnsembleRegressor(FeedForwardClassifier()).fit(X, y.astype(float))
    with pytest.raises(ValueError, match=r"MAMLClassifier cannot use CNNClassifier\("
                                         r"dropout=0.5\).*Pass CNNClassifier\(dropout=0.0"):
        MAMLClassifier(CNNClassifier(dropout=0.5)).fit(X.reshape(60, 2, 8), y)


def test_the_meta_random_state_seeds_the_fit_else_the_wrapped_one():
    X, y, _ = _data(CLASSIFIERS[2])
    base = clone(CLASSIFIERS[2])
    a = DeepEnsembleClassifier(base.set_params(random_state=3), n_estimators=2).fit(X, y)
    b = DeepEnsembleClassifier(clone(base), n_estimators=2, random_state=3).fit(X, y)
    c = DeepEnsembleClassifier(clone(base), n_estimators=2, random_state=4).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
