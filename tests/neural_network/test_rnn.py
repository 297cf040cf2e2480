import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_mlarch import RNNClassifier, RNNRegressor
from sklearn_mlarch.datasets import make_sequence_classification
from sklearn_mlarch.utils._testing import fast_instance


@pytest.mark.parametrize("cell, module", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU),
                                          ("rnn", torch.nn.RNN)])
def test_cells_and_sizes(cell, module):
    X, y = make_sequence_classification(60, n_timesteps=10, random_state=0)
    clf = RNNClassifier(cell=cell, hidden_size=5, num_layers=2, bidirectional=True,
                        max_epochs=1, random_state=0).fit(X, y)
    rnn = [m for m in clf.net_.module_.modules() if isinstance(m, torch.nn.RNNBase)]
    assert len(rnn) == 1 and type(rnn[0]) is module
    assert rnn[0].num_layers == 2 and rnn[0].bidirectional and rnn[0].hidden_size == 5
    assert clf.input_shape_ == (2, 10) and rnn[0].input_size == 2  # (C, L): 2 channels


def test_learns_sequence_order():
    X, y = make_sequence_classification(400, random_state=0)
    clf = fast_instance(RNNClassifier, cell="gru", max_epochs=30).fit(X[:300], y[:300])
    assert clf.score(X[300:], y[300:]) > 0.9


def test_ragged_sequences_are_packed_so_padding_changes_nothing():
    X, y = make_sequence_classification(80, variable_length=True, random_state=0)
    clf = fast_instance(RNNClassifier, max_epochs=5).fit(X, y)
    proba = clf.predict_proba(X)
    module = clf.net_.module_.eval()
    with torch.no_grad():
        alone = np.vstack([torch.softmax(module(torch.as_tensor(s[None], dtype=torch.float32)),
                                         1).numpy() for s in X])
    assert_allclose(proba, alone, atol=1e-5)
    # a ragged batch at predict time is padded to the fitted length
    assert clf.predict(X[:3]).shape == (3,)


def test_padding_value_on_flat_rows_equals_ragged_input():
    X, y = make_sequence_classification(60, n_timesteps=6, n_features=1,
                                        variable_length=True, random_state=1)
    flat = np.zeros((len(X), 6))
    for i, s in enumerate(X):
        flat[i, :s.shape[1]] = s[0]
    flat[flat == 0] = 1e-9  # keep real zeros apart from padding
    for i, s in enumerate(X):
        flat[i, s.shape[1]:] = 0.0
    ragged = fast_instance(RNNRegressor, max_epochs=3).fit(X, y)
    padded = fast_instance(RNNRegressor, max_epochs=3, padding_value=0.0).fit(flat, y)
    assert_allclose(ragged.predict(X), padded.predict(flat), rtol=1e-5)


def test_padding_errors():
    X = np.random.RandomState(0).rand(10, 2, 4)  # 2 channels of 4 steps
    y = np.arange(10) % 2
    bad = X.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(ValueError, match="inside a time step"):
        fast_instance(RNNClassifier, padding_value=np.nan).fit(bad, y)
    bad = X.copy()
    bad[0, :, 1] = np.nan
    with pytest.raises(ValueError, match="padding before real time steps"):
        fast_instance(RNNClassifier, padding_value=np.nan).fit(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        fast_instance(RNNClassifier).fit(bad, y)  # no padding declared


def _one_by_one(clf, sequences):
    module = clf.net_.module_.eval()
    with torch.no_grad():
        return np.vstack([torch.softmax(module(torch.as_tensor(s[None], dtype=torch.float32)),
                                        1).numpy() for s in sequences])


@pytest.mark.parametrize("padding_value", [None, 0.0])
def test_longer_sequences_than_in_fit_are_predicted(padding_value):
    # JapaneseVowels: training series reach 26 steps, test series 29
    X, y = make_sequence_classification(30, n_timesteps=8, variable_length=True,
                                        random_state=0)
    clf = fast_instance(RNNClassifier, max_epochs=1,
                        padding_value=padding_value).fit(X, y)
    rng = np.random.RandomState(0)
    longer = [rng.rand(2, 12) + 0.5, rng.rand(2, 5) + 0.5]
    assert_allclose(clf.predict_proba(longer), _one_by_one(clf, longer), atol=1e-5)
    with pytest.raises(ValueError, match="series of 3 channels, but RNNClassifier was "
                                         r"fitted on 2.*X.transpose\(0, 2, 1\)"):
        clf.predict([rng.rand(3, 12), rng.rand(3, 5)])
    with pytest.raises(ValueError, match="inf"):
        clf.predict([np.full((2, 12), np.inf), rng.rand(2, 5)])


def test_longer_sequences_need_padded_fit():
    # a model fitted on one length without padding_value has no padding to mark
    X, y = make_sequence_classification(20, n_timesteps=8, random_state=0)
    clf = fast_instance(RNNClassifier, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="12 time steps.*fitted on 8.*padding_value"):
        clf.predict(np.zeros((2, 2, 12)))


def test_input_shape_must_be_2d():
    X, y = make_sequence_classification(20, random_state=0)
    with pytest.raises(ValueError, match=r"\(C, L\)"):
        RNNClassifier(input_shape=(2, 20, 1)).fit(X.reshape(20, -1), y)
