"""One sequence layout for the CNN and the RNN: ``(n, C, L)``, channels first."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_mlarch import CNNClassifier, RNNClassifier
from sklearn_mlarch.neural_network._layout import from_frame, pad_series, series_list

pd = pytest.importorskip("pandas")


def _series(n=12, channels=2, lengths=(12,), seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(channels, lengths[i % len(lengths)]) for i in range(n)]


def _nested(series):
    """sktime's nested_univ: one column per channel, each cell a pd.Series."""
    return pd.DataFrame({f"dim_{c}": [pd.Series(s[c]) for s in series]
                         for c in range(series[0].shape[0])})


def _multiindex(series):
    """sktime's pd-multiindex: rows indexed by (instance, time), a column per channel."""
    frames = [pd.DataFrame(s.T, columns=[f"dim_{c}" for c in range(len(s))],
                           index=pd.MultiIndex.from_product([[f"case{i}"], range(s.shape[1])],
                                                            names=["instance", "time"]))
              for i, s in enumerate(series)]
    return pd.concat(frames)


def _rnn(**params):
    return RNNClassifier(hidden_size=4, max_epochs=2, random_state=0, **params)


def _cnn(**params):
    return CNNClassifier(channels=(4,), max_epochs=2, random_state=0, **params)


# ------------------------------------------------ the aeon array a user hit
def test_rnn_reads_an_aeon_array_as_channels_by_steps():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 2, 50)  # aeon/sktime numpy3D: 2 channels of 50 steps
    y = (X[:, 0, :25].mean(axis=1) > X[:, 0, 25:].mean(axis=1)).astype(int)
    clf = _rnn().fit(X, y)
    rnn = clf.net_.module_.trunk.rnn.rnn
    assert clf.input_shape_ == (2, 50) and rnn.input_size == 2  # 50 steps of 2 features
    as_list = _rnn().fit(list(X), y)
    assert as_list.input_shape_ == (2, 50)
    assert_array_equal(clf.predict_proba(X), as_list.predict_proba(list(X)))
    # the recurrent cell sees the 50 steps: the same as the network fed time first
    module = clf.net_.module_.eval()
    with torch.no_grad():
        steps = module.trunk.rnn.rnn(torch.as_tensor(X.transpose(0, 2, 1),
                                                     dtype=torch.float32))[1]
    assert steps.shape[1:] == (20, 4)
    # the CNN reads the same array the same way
    assert _cnn().fit(X, y).input_shape_ == (2, 50)


def test_time_first_data_is_refused_with_the_transposition():
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 2, 50), np.arange(20) % 2
    for make in (_rnn, _cnn):
        with pytest.raises(ValueError, match=r"50 channels and 2 time steps.*"
                                             r"X.transpose\(0, 2, 1\)"):
            make().fit(X.transpose(0, 2, 1), y)
        with pytest.raises(ValueError, match=r"\[s.T for s in X\]"):
            make().fit([s.T for s in _series(lengths=(9, 12))], np.arange(12) % 2)
        fitted = make().fit(X, y)
        with pytest.raises(ValueError, match=r"series of 50 channels, but \w+ was fitted on "
                                             r"2.*X.transpose\(0, 2, 1\)"):
            fitted.predict(X.transpose(0, 2, 1))
        # more channels than steps, said explicitly, are read as they are
        wide = make(input_shape=(50, 2)).fit(X.transpose(0, 2, 1), y)
        assert wide.input_shape_ == (50, 2)


# ------------------------------------------------- sktime/aeon DataFrames
def test_nested_dataframe_is_read_as_numpy3d():
    series = _series(n=20, lengths=(30,))
    y = np.array([int(s[1].mean() > 0) for s in series])
    X3d = np.stack(series)
    for make in (_rnn, _cnn):
        reference = make().fit(X3d, y)
        nested = make().fit(_nested(series), y)
        assert nested.input_shape_ == (2, 30)
        assert_array_equal(nested.predict_proba(_nested(series)), reference.predict_proba(X3d))
        long = make().fit(_multiindex(series), y)
        assert_array_equal(long.predict_proba(_multiindex(series)),
                           reference.predict_proba(X3d))


def test_nested_dataframe_of_unequal_lengths_is_a_series_list():
    series = _series(n=20, lengths=(30, 21, 25))
    y = np.array([int(s[1].mean() > 0) for s in series])
    for make in (_rnn, _cnn):
        reference = make().fit(series, y)
        for frame in (_nested(series), _multiindex(series)):
            est = make().fit(frame, y)
            assert est.input_shape_ == (2, 30)
            assert_array_equal(est.predict_proba(frame), reference.predict_proba(series))


def test_from_frame_conversions_and_errors():
    series = _series(n=3, lengths=(4, 3))
    converted = from_frame(_nested(series))
    assert [s.shape for s in converted] == [(2, 4), (2, 3), (2, 4)]
    assert all(np.array_equal(a, b) for a, b in zip(converted, series))
    # numpy cells (aeon), and instances in order of first appearance
    cells = pd.DataFrame({"a": [np.arange(3.0), np.arange(3.0) + 10]})
    assert_array_equal(from_frame(cells), [[[0, 1, 2]], [[10, 11, 12]]])
    with pytest.raises(ValueError, match="not increasing within instance 'case0'"):
        from_frame(_multiindex(series[:1]).iloc[::-1])
    interleaved = _multiindex(series[:2]).sort_index(level=1, sort_remaining=False)
    assert_array_equal(from_frame(interleaved)[0], series[0])
    # plain DataFrames are flat rows, as before
    flat = pd.DataFrame(np.ones((3, 4)))
    assert from_frame(flat) is flat
    with pytest.raises(ValueError, match="mix series and single values"):
        from_frame(pd.DataFrame({"a": [pd.Series([1.0, 2.0]), 3.0]}))
    with pytest.raises(ValueError, match=r"row 0 has channels of lengths \[2, 3\]"):
        from_frame(pd.DataFrame({"a": [pd.Series([1.0, 2.0])], "b": [pd.Series([1.0] * 3)]}))
    deep = pd.DataFrame({"a": range(4)},
                        index=pd.MultiIndex.from_product([[0], [0, 1], [0, 1]]))
    with pytest.raises(ValueError, match="3-level row MultiIndex"):
        from_frame(deep)


def test_series_helpers():
    assert series_list(np.zeros((3, 2, 4))) is None  # arrays stay arrays
    assert series_list([[1.0, 2.0], [3.0, 4.0]]) is None  # flat rows
    assert [s.shape for s in series_list([[1.0, 2.0], [3.0, 4.0]], always=True)] == [(1, 2)] * 2
    with pytest.raises(ValueError, match="mixes 1-D and 2-D"):
        series_list([np.zeros(3), np.zeros((1, 3))])
    padded = pad_series([np.ones((2, 3)), np.ones((2, 1))], 4)
    assert padded.shape == (2, 2, 4) and np.isnan(padded[1, :, 1:]).all()


# ------------------------------------- the CNN and the RNN read the same layouts
_RAGGED = (12, 8, 10)
_LAYOUTS = {
    # name: (X, fit parameters, input_shape_ or the error's pattern)
    "numpy3D": (lambda: np.stack(_series()), {}, (2, 12)),
    "list of (C, L)": (lambda: _series(), {}, (2, 12)),
    "list of (C, L_i)": (lambda: _series(lengths=_RAGGED), {}, (2, 12)),
    "list of 1-D series": (lambda: [s[0] for s in _series(lengths=_RAGGED)], {}, (1, 12)),
    "flat rows": (lambda: np.stack(_series()).reshape(12, -1), {}, (1, 24)),
    "flat rows, input_shape": (lambda: np.stack(_series()).reshape(12, -1),
                               dict(input_shape=(2, 12)), (2, 12)),
    "nested_univ": (lambda: _nested(_series()), {}, (2, 12)),
    "nested_univ, unequal": (lambda: _nested(_series(lengths=_RAGGED)), {}, (2, 12)),
    "pd-multiindex": (lambda: _multiindex(_series()), {}, (2, 12)),
    "pd-multiindex, unequal": (lambda: _multiindex(_series(lengths=_RAGGED)), {}, (2, 12)),
    "plain DataFrame": (lambda: pd.DataFrame(np.stack(_series()).reshape(12, -1)), {},
                        (1, 24)),
    "time first (n, L, C)": (lambda: np.stack(_series()).transpose(0, 2, 1), {},
                             r"X.transpose\(0, 2, 1\)"),
    "time first, input_shape": (lambda: np.stack(_series()).transpose(0, 2, 1),
                                dict(input_shape=(12, 2)), (12, 2)),
    "list of (L_i, C)": (lambda: [s.T for s in _series(lengths=_RAGGED)], {},
                         r"\[s.T for s in X\]"),
    "mixed 1-D and 2-D": (lambda: _series()[:-1] + [np.zeros(12)], {}, "mixes 1-D and 2-D"),
    "different channels": (lambda: _series()[:-1] + [np.zeros((3, 12))], {},
                           "same number of channels"),
    "images (n, C, H, W)": (lambda: np.zeros((12, 1, 3, 4)), {}, r"\(C, L\)"),
}


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("make", [_cnn, _rnn], ids=["CNN", "RNN"])
def test_cnn_and_rnn_accept_the_same_layouts(make, layout):
    build, params, expected = _LAYOUTS[layout]
    y = np.arange(12) % 2
    if make is _cnn and layout.startswith("images"):
        expected = (1, 3, 4)  # the CNN also reads images
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            make(**params).fit(build(), y)
        return
    est = make(**params).fit(build(), y)
    assert est.input_shape_ == expected
    assert est.predict(build()).shape == (12,)


@pytest.mark.parametrize("make", [_cnn, _rnn], ids=["CNN", "RNN"])
def test_after_a_ragged_fit_any_length_is_read_alike(make):
    series = _series(n=20, lengths=(12, 8, 10))
    y = np.arange(20) % 2
    est = make().fit(series, y)
    for length in (6, 12, 15):  # shorter, as long as and longer than any in fit
        X = np.stack([np.resize(s, (2, length)) for s in series])
        assert_allclose(est.predict_proba(X), est.predict_proba(list(X)), rtol=1e-6)
        assert_allclose(est.predict_proba(X[:1]), est.predict_proba(X)[:1], rtol=1e-5,
                        atol=1e-6)
