import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mlarch import CNNClassifier, CNNRegressor
from sklearn_mlarch.utils._testing import fast_instance


def _convs(est):
    return [type(m) for m in est.net_.module_.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)]


def test_images_use_conv2d_and_signals_conv1d(digits):
    X, y = digits
    images = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=1).fit(X, y)
    signals = fast_instance(CNNClassifier, max_epochs=1).fit(X, y)
    assert _convs(images) == [torch.nn.Conv2d]
    assert _convs(signals) == [torch.nn.Conv1d] and signals.input_shape_ == (1, 64)


def test_architecture_parameters_shape_the_network(digits):
    X, y = digits
    est = CNNClassifier(input_shape=(1, 8, 8), channels=(4, 6, 8), kernel_size=(3, 5, 1),
                        pool_size=1, batch_norm=False, hidden_sizes=(7, 5), dropout=0.1,
                        max_epochs=1, random_state=0).fit(X, y)
    convs = [m for m in est.net_.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 6, 8]
    assert [c.kernel_size for c in convs] == [(3, 3), (5, 5), (1, 1)]
    modules = list(est.net_.module_.modules())
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.MaxPool2d)) for m in modules)
    assert any(isinstance(m, torch.nn.Dropout) for m in modules)
    assert est.transform_features(X).shape == (len(X), 5)


def test_pipeline_with_scaler_learns_digits(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(),
                         fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=15))
    pipe.fit(X[:200], y[:200])
    assert pipe.score(X[200:], y[200:]) > 0.85


def test_regressor_learns_a_smooth_function():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 1, 12)
    y = 1000 + 50 * X.mean(axis=(1, 2))  # offset and scale: standardised inside
    reg = fast_instance(CNNRegressor, max_epochs=60).fit(X[:150], y[:150])
    assert reg.score(X[150:], y[150:]) > 0.8


def test_input_shape_must_be_2d_or_3d(digits):
    with pytest.raises(ValueError, match=r"\(C, L\) or \(C, H, W\)"):
        CNNClassifier(input_shape=(1, 1, 8, 8)).fit(*digits)


def test_default_architecture_follows_the_input(digits):
    X, y = digits
    signals = CNNClassifier(max_epochs=1, random_state=0).fit(X[:40].reshape(40, 1, 64), y[:40])
    images = CNNClassifier(max_epochs=1, random_state=0).fit(X[:40].reshape(40, 1, 8, 8),
                                                             y[:40])
    flat = CNNClassifier(max_epochs=1, random_state=0).fit(X[:40], y[:40])
    assert signals.net_.module_.architecture["global_pool"] == "avg"
    assert images.net_.module_.architecture["global_pool"] == "flatten"
    # flat rows without input_shape are often tabular: a position is a feature
    assert flat.input_shape_ == (1, 64)
    assert flat.net_.module_.architecture["global_pool"] == "flatten"
    # the parameters keep None: clone and get_params see what the user set
    assert signals.get_params()["channels"] is None


@pytest.mark.parametrize("n, batch, epochs", [(36, 16, 500), (3, 16, 1000), (200, 20, 150), (1437, 64, 66),
                                              (60000, 64, 10)])
def test_auto_budget_counts_optimizer_steps(n, batch, epochs):
    from sklearn_mlarch._engine import auto_batch_size

    est = CNNClassifier()._engine_config()
    assert auto_batch_size(n) == batch
    assert est.auto_epochs(n, batch) == epochs
    # early stopping holds out validation_fraction: fewer steps per epoch
    held = CNNClassifier(early_stopping=True, validation_fraction=0.5)._engine_config()
    assert held.auto_epochs(200, 20) == est.auto_epochs(100, 20)


def test_auto_budget_is_what_fit_trains():
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 1, 6), np.arange(40) % 2  # 40 rows: batches of 16, 3 per epoch
    est = CNNClassifier(channels=(2,), random_state=0).fit(X, y)
    assert est.net_.batch_size == 16
    assert est.n_iter_ == len(est.history_) == 500  # 1,500 steps
    assert est.get_params()["max_epochs"] == "auto"
    # an int keeps its meaning: exactly that many epochs
    assert CNNClassifier(channels=(2,), max_epochs=3).fit(X, y).n_iter_ == 3


# ------------------------------------------------ series of different lengths
def _ragged_series(n=40, channels=2, seed=0):
    rng = np.random.RandomState(seed)
    series = [rng.randn(channels, rng.randint(12, 40)) for _ in range(n)]
    y = np.array([int(s[0].mean() > 0) for s in series])
    return series, y


def _ragged_cnn(**params):
    return CNNClassifier(channels=(6, 6), max_epochs=4, random_state=0, **params)


def test_list_of_series_of_different_lengths_is_read_at_each_length():
    series, y = _ragged_series()
    clf = _ragged_cnn().fit(series, y)
    assert clf.input_shape_ == (2, max(s.shape[1] for s in series))
    together = clf.predict_proba(series)
    alone = np.vstack([clf.predict_proba([s]) for s in series])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    # longer series than any seen in fit, and one-channel series as 1-D arrays
    longer = [np.random.RandomState(1).randn(2, 90), series[0]]
    np.testing.assert_allclose(clf.predict_proba(longer)[1], together[0], rtol=1e-5,
                               atol=1e-6)
    mono, y_mono = _ragged_series(channels=1)
    flat = _ragged_cnn().fit([s[0] for s in mono], y_mono)
    assert flat.input_shape_ == (1, max(s.shape[1] for s in mono))
    assert flat.net_.module_.variable_length
    np.testing.assert_array_equal(flat.predict_proba([s[0] for s in mono]),
                                  _ragged_cnn().fit(mono, y_mono).predict_proba(mono))


def test_series_list_warm_start_and_pickle_are_exact():
    import pickle

    series, y = _ragged_series()
    once = CNNClassifier(channels=(6,), max_epochs=6, random_state=0).fit(series, y)
    twice = CNNClassifier(channels=(6,), max_epochs=3, random_state=0, warm_start=True)
    twice.fit(series, y).fit(series, y)
    np.testing.assert_array_equal(once.predict_proba(series), twice.predict_proba(series))
    restored = pickle.loads(pickle.dumps(once))
    np.testing.assert_array_equal(restored.predict_proba(series[:5]),
                                  once.predict_proba(series[:5]))


def test_series_list_errors_name_the_fix():
    series, y = _ragged_series()
    with pytest.raises(ValueError, match="global_pool=None or 'avg'"):
        _ragged_cnn(global_pool="flatten").fit(series, y)
    bad = [s.copy() for s in series]
    bad[3][0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        _ragged_cnn().fit(bad, y)
    with pytest.raises(ValueError, match="same number of channels"):
        _ragged_cnn().fit(series[:-1] + [np.zeros((3, 20))], y)
    fixed = _ragged_cnn().fit(np.stack([s[:, :12] for s in series]), y)
    with pytest.raises(ValueError, match="Fit on a list of series of different lengths"):
        fixed.predict(series)
    fitted = _ragged_cnn().fit(series, y)
    with pytest.raises(ValueError, match="fitted on 2"):
        fitted.predict([np.zeros((3, 60)), np.zeros((3, 10))])


def test_deep_ensemble_reads_series_of_different_lengths():
    # the ensemble reads what its base estimator reads: CNN members on a list
    # of series of different lengths run as a loop (the grouped network has
    # no masking), each series read at its own length
    from sklearn_mlarch.ensemble import DeepEnsembleClassifier

    series, y = _ragged_series()
    ens = DeepEnsembleClassifier(CNNClassifier(channels=(6,), max_epochs=1), n_estimators=2,
                                 random_state=0).fit(series, y)
    together = ens.predict_proba(series)
    alone = np.vstack([ens.predict_proba([s]) for s in series])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    assert ens.predict_member(series).shape == (len(series), 2, 2)


def test_equal_length_series_lists_read_as_arrays():
    series, y = _ragged_series()
    equal = [s[:, :12] for s in series]
    clf = _ragged_cnn().fit(equal, y)
    assert clf.input_shape_ == (2, 12) and not clf.net_.module_.variable_length
    stacked = _ragged_cnn().fit(np.stack(equal), y)
    np.testing.assert_array_equal(clf.predict_proba(equal),
                                  stacked.predict_proba(np.stack(equal)))
    assert clf.predict([equal[0]]).shape == (1,)  # a list of one series


def test_series_list_input_errors_found_by_review():
    series, y = _ragged_series()
    with pytest.raises(ValueError, match="mixes 1-D and 2-D series"):
        _ragged_cnn().fit(series[:-1] + [series[-1][0]], y)
    with pytest.raises(ValueError, match="complex numbers"):
        _ragged_cnn().fit(series[:-1] + [series[-1] * 1j], y)
    # a series shorter than the pooling windows' product would vanish
    pooled = _ragged_cnn(pool_size=2, global_pool="max")
    with pytest.raises(ValueError, match="series of 3 steps, fewer than 4"):
        pooled.fit(series[:-1] + [np.ones((2, 3))], y)
    pooled.fit(series, y)
    with pytest.raises(ValueError, match="series of 1 steps, fewer than 4"):
        pooled.predict([np.ones((2, 1))])
    with pytest.raises(ValueError, match="series of 3 channels, but CNNClassifier was fitted "
                                         "on 2"):
        pooled.predict([np.ones((3, 20)), np.ones((3, 10))])


def test_longer_series_in_a_warm_fit_still_check_y():
    series, y = _ragged_series()
    clf = _ragged_cnn(warm_start=True).fit(series, y)
    longer = [np.ones((2, 80))] + series[:9]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(longer, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.partial_fit(longer, y[:5])
    clf.fit(longer, y[:10])  # the right labels train
    assert clf.n_iter_ == 8


def test_the_shortest_readable_series_is_the_fitted_networks():
    # before: predict read the pooling of the current parameters, so
    # set_params(pool_size=1) after fit let through series the fitted network
    # pools away to nothing (every prediction then the same)
    series, y = _ragged_series()
    clf = _ragged_cnn(pool_size=2).fit(series, y)
    short = [np.zeros((2, 3))]
    with pytest.raises(ValueError, match="fewer than 4, the product of the pooling"):
        clf.predict(short)
    with pytest.raises(ValueError, match="fewer than 4"):
        clf.set_params(pool_size=1).predict(short)


def test_an_object_array_of_series_reads_as_the_list():
    # before: np.array(series, dtype=object) failed with numpy's "setting an
    # array element with a sequence"
    series, y = _ragged_series(n=12)
    as_objects = np.empty(len(series), dtype=object)
    as_objects[:] = series
    clf = _ragged_cnn().fit(as_objects, y)
    np.testing.assert_allclose(clf.predict_proba(as_objects),
                               _ragged_cnn().fit(series, y).predict_proba(series))


def test_nan_padded_series_get_the_list_advice():
    # before: only scikit-learn's advice (impute, or HistGradientBoosting)
    X = np.random.RandomState(0).randn(12, 2, 10)
    X[0, :, 5:] = np.nan
    with pytest.raises(ValueError, match="give the series as a list of arrays"):
        _ragged_cnn().fit(X, np.arange(12) % 2)
    # not where a list would not help: NaN in y, a model fitted on one length
    y = np.arange(12.0)
    y[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN") as info:
        CNNRegressor(channels=(2,), max_epochs=1).fit(np.nan_to_num(X), y)
    assert "list of arrays" not in str(info.value)
    fitted = _ragged_cnn().fit(np.nan_to_num(X), np.arange(12) % 2)
    with pytest.raises(ValueError, match="Input X contains NaN") as info:
        fitted.predict(X)
    assert "list of arrays" not in str(info.value)
