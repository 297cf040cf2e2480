"""scikit-learn's ensembles with the package's estimators, on real data."""

import os

import numpy as np
import pytest
import torch
from sklearn.ensemble import (AdaBoostClassifier, AdaBoostRegressor, BaggingClassifier,
                              BaggingRegressor, HistGradientBoostingClassifier,
                              StackingClassifier, VotingClassifier)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.callbacks import Callback

from sklearn_mlarch import CNNClassifier, CNNRegressor, RNNClassifier, RNNRegressor
from sklearn_mlarch.datasets import make_sequence_classification
from sklearn_mlarch.utils._testing import fast_instance


@pytest.fixture(scope="module")
def sequences():
    X, y = make_sequence_classification(240, n_timesteps=12, n_features=2, random_state=0)
    return X.reshape(len(X), -1), y  # flat rows, input_shape=(2, 12)


def _cnn(**kw):
    return fast_instance(CNNClassifier, **{"input_shape": (1, 8, 8), "max_epochs": 8, **kw})


def _rnn(**kw):
    return fast_instance(RNNClassifier, input_shape=(2, 12), cell="gru", max_epochs=10, **kw)


@pytest.mark.parametrize("make, data", [(_cnn, "digits"), (_rnn, "sequences")])
def test_adaboost_classifier(make, data, request):
    X, y = request.getfixturevalue(data)
    ada = AdaBoostClassifier(make(), n_estimators=3, random_state=0).fit(X[:200], y[:200])
    assert len(ada.estimators_) >= 2
    assert ada.score(X[200:], y[200:]) > 0.7


@pytest.mark.parametrize("cls, shape", [(CNNRegressor, (1, 8, 8)), (RNNRegressor, (8, 8))])
def test_adaboost_regressor(cls, shape, digits):
    X, y = digits
    ada = AdaBoostRegressor(fast_instance(cls, input_shape=shape, max_epochs=5),
                            n_estimators=3, random_state=0).fit(X, y.astype(float))
    assert ada.score(X, y) > 0.3


def test_bagging_classifier_in_pipeline_with_processes(digits):
    X, y = digits
    bag = make_pipeline(StandardScaler(), BaggingClassifier(
        _cnn(), n_estimators=4, max_samples=0.8, bootstrap=True, n_jobs=2, random_state=0))
    bag.fit(X[:200], y[:200])
    members = bag[-1].estimators_
    assert len(members) == 4
    # distinct bootstrap samples and seeds give distinct members
    p = [m.predict_proba(StandardScaler().fit(X[:200]).transform(X[200:])) for m in members]
    assert not np.allclose(p[0], p[1])
    assert bag.score(X[200:], y[200:]) > 0.8


def test_bagging_regressor_with_rnn(sequences):
    X, y = sequences
    bag = BaggingRegressor(fast_instance(RNNRegressor, input_shape=(2, 12), max_epochs=5),
                           n_estimators=3, n_jobs=2, random_state=0).fit(X, y.astype(float))
    assert bag.predict(X).shape == (len(X),)


@pytest.mark.parametrize("params", [dict(max_features=0.5), dict(max_features=0.9)])
def test_bagging_feature_subsampling_errors_with_fix(digits, params):
    X, y = digits
    with pytest.raises(ValueError, match="max_features=1.0 and bootstrap_features=False"):
        BaggingClassifier(_cnn(), n_estimators=2, random_state=0, **params).fit(X, y)


def test_soft_voting_and_stacking_mix_neural_and_sklearn_models(digits):
    X, y = digits
    to_rows = FunctionTransformer(lambda Z: Z)  # same features; the RNN reads image rows
    members = [("cnn", _cnn()),
               ("rnn", make_pipeline(to_rows, fast_instance(
                   RNNClassifier, input_shape=(8, 8), cell="gru", max_epochs=8))),
               ("logreg", LogisticRegression(max_iter=500))]
    vote = VotingClassifier(members, voting="soft").fit(X[:200], y[:200])
    assert vote.predict_proba(X[200:]).shape == (100, 10)
    assert vote.score(X[200:], y[200:]) > 0.85
    stack = StackingClassifier(members, final_estimator=LogisticRegression(max_iter=500), cv=3)
    stack.fit(X[:200], y[:200])
    assert stack.score(X[200:], y[200:]) > 0.85


def test_cnn_features_into_gradient_boosting(digits):
    from sklearn_mlarch.neural_network import NetworkFeatures

    X, y = digits
    pipe = make_pipeline(NetworkFeatures(_cnn()), HistGradientBoostingClassifier(max_iter=30))
    pipe.fit(X[:200], y[:200])
    assert pipe[0].transform(X[:5]).shape == (5, 16)
    assert pipe.score(X[200:], y[200:]) > 0.8


class _RecordThreads(Callback):
    def on_train_begin(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def test_parallel_workers_split_the_cores(digits):
    X, y = digits
    before = torch.get_num_threads()
    bag = BaggingClassifier(_cnn(max_epochs=1, callbacks=[_RecordThreads()]), n_estimators=2,
                            n_jobs=2, random_state=0).fit(X, y)
    used = {dict(m.net_.callbacks_)["_RecordThreads"].threads_ for m in bag.estimators_}
    assert used == {max(1, os.cpu_count() // 2)}
    assert torch.get_num_threads() == before  # nothing leaked into the parent
