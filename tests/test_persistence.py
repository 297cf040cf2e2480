"""save_model / load_model: bit-identical round trips, no code execution, GPU to CPU."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_mlarch import (CNNClassifier, CNNRegressor, MultiTaskClassifier, RNNClassifier,
                            RNNRegressor, TorchModuleClassifier, load_model, save_model)
from sklearn_mlarch.ensemble import DeepEnsembleClassifier
from sklearn_mlarch.utils._testing import fast_instance


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("cls", [CNNClassifier, CNNRegressor, RNNClassifier, RNNRegressor,
                                 DeepEnsembleClassifier, MultiTaskClassifier])
def test_round_trip_is_bit_identical(cls, digits, tmp_path):
    X, y = digits
    X = X.reshape(-1, 1, 8, 8) if cls in (DeepEnsembleClassifier, MultiTaskClassifier) else X
    labels = np.array(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])[y]
    target = (np.c_[labels, y % 2] if cls is MultiTaskClassifier
              else labels if "Classifier" in cls.__name__ else y * 1.5)
    est = fast_instance(cls)
    # training settings are the wrapped estimator's in a meta-estimator
    est.set_params(**{"estimator__max_epochs" if "estimator" in est.get_params(deep=False)
                      else "max_epochs": 2})
    est.fit(X, target)
    loaded = load_model(save_model(est, tmp_path / "m"))
    assert type(loaded) is type(est)
    assert repr(sorted(loaded.get_params().items())) == repr(sorted(est.get_params().items()))
    out, again = _output(est, X), _output(loaded, X)
    for a, b in zip(out if isinstance(out, list) else [out],
                    again if isinstance(again, list) else [again]):
        assert_array_equal(a, b)
    assert_array_equal(loaded.predict(X), est.predict(X))


def test_ragged_rnn_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    seqs = [rng.randn(2, 3 + i % 4) for i in range(20)]  # (C, L_i)
    est = fast_instance(RNNClassifier, max_epochs=1).fit(seqs, np.arange(20) % 2)
    loaded = load_model(save_model(est, tmp_path / "r"))
    assert_array_equal(loaded.predict_proba(seqs), est.predict_proba(seqs))


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_pickle_payload_is_refused(digits, tmp_path):
    est = fast_instance(CNNClassifier, max_epochs=1).fit(*digits)
    path = save_model(est, tmp_path / "m")
    with open(path / "weights.pt", "wb") as f:
        pickle.dump({"head.weight": _Payload()}, f)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(ValueError, match="Refusing to load.*pickle payload"):
            load_model(path)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "pwned.txt").exists()


def test_unknown_class_and_missing_files_are_refused(digits, tmp_path):
    with pytest.raises(ValueError, match="not a model saved by save_model"):
        load_model(tmp_path)
    est = fast_instance(CNNClassifier, max_epochs=1).fit(*digits)
    path = save_model(est, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["class"] = "os.system"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not a neural estimator"):
        load_model(path)
    with pytest.raises(ValueError, match="fitted"):
        save_model(CNNClassifier(), tmp_path / "x")


def test_a_model_saved_on_a_gpu_loads_on_a_cpu_only_machine(digits, tmp_path, monkeypatch):
    X, y = digits
    est = fast_instance(CNNClassifier, max_epochs=1).fit(X, y)
    path = save_model(est, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["params"]["device"] = "cuda"  # as written on a GPU machine
    (path / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = load_model(path)
    assert loaded.device == "cpu"
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_unsaved_parameters_come_back_as_defaults_or_given(digits, tmp_path):
    X, y = digits
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.ReLU())
    est = fast_instance(MultiTaskClassifier, estimator=fast_instance(
        TorchModuleClassifier, module=trunk, input_shape=(1, 8, 8),
        max_epochs=1)).fit(X, np.c_[y, y % 2])
    path = save_model(est, tmp_path / "m")
    assert "estimator__module" in json.loads((path / "config.json").read_text())["not_saved"]
    loaded = load_model(path, estimator__module=trunk)
    assert_array_equal(loaded.predict(X), est.predict(X))


def test_class_weight_with_integer_keys_is_saved(digits, tmp_path):
    X, y = digits
    est = fast_instance(CNNClassifier, max_epochs=1, class_weight={0: 2.0, 1: 1.0}).fit(X, y)
    assert load_model(save_model(est, tmp_path / "m")).class_weight == {0: 2.0, 1: 1.0}


def test_a_module_trunk_must_be_given_back(digits, tmp_path):
    X, y = digits
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.ReLU())
    est = fast_instance(MultiTaskClassifier, estimator=fast_instance(
        TorchModuleClassifier, module=trunk, input_shape=(1, 8, 8),
        max_epochs=1)).fit(X, np.c_[y, y % 2])
    with pytest.raises(ValueError, match=r"estimator__module was a torch module.*pass the "
                                         r"same module.*estimator__module=module"):
        load_model(save_model(est, tmp_path / "m"))


# ---------------------------------------------------------- datetime labels
SMALL = dict(channels=(4,), hidden_sizes=(4,), max_epochs=1, batch_size=64, random_state=0)


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "datetime64[D]", "timedelta64[ms]"])
def test_datetime_labels_round_trip(digits, tmp_path, dtype):
    X, y = digits
    labels = (np.array(["2020-01-01", "2021-06-30", "1969-12-31"], dtype=dtype) if "date" in dtype
              else np.array([5, -3, 10**12], dtype=dtype))[y % 3]
    est = CNNClassifier(**SMALL).fit(X, labels)
    loaded = load_model(save_model(est, tmp_path / "m"))
    assert loaded.classes_.dtype == est.classes_.dtype
    assert_array_equal(loaded.classes_, est.classes_)
    predicted = loaded.predict(X)
    assert predicted.dtype == np.dtype(dtype)
    assert_array_equal(predicted, est.predict(X))


@pytest.mark.parametrize("value", [
    np.array(["2020-01-01T00:00:00.123456789", "NaT"], dtype="datetime64[ns]").reshape(2, 1),
    np.array([1, -2, np.iinfo(np.int64).max], dtype="timedelta64[us]"),
    np.datetime64("1677-09-22T00:00:00.000000001", "ns"),
    np.timedelta64("NaT", "s"),
    np.array([(1, "a"), np.datetime64("2020-01-01"), None], dtype=object),
    np.array([[1.5, "x"], [(2,), None]], dtype=object),
    {1: (np.float64(0.1), [np.int64(3)]), "k": {"__dict__": 1}},
    np.zeros((0, 3), dtype=np.float32),
])
def test_json_encoding_is_exact(value):
    from sklearn_mlarch._json import decode, encode

    again = decode(json.loads(json.dumps(encode(value))))
    assert type(again) is type(value)
    if isinstance(value, (np.ndarray, np.generic)):
        assert again.dtype == value.dtype and np.shape(again) == np.shape(value)
        assert repr(again) == repr(value)
    else:
        assert repr(again) == repr({1: (0.1, [3]), "k": {"__dict__": 1}})


# ------------------------------------------------- hooks and nested estimators
class HookedCNN(CNNClassifier):
    """Stores an extra attribute through the fitted-state hooks."""

    def _get_fitted_state(self):
        from sklearn_mlarch.persistence import default_fitted_state

        inherited = getattr(super(), "_get_fitted_state", None)
        state = inherited() if inherited else default_fitted_state(self)
        return {**state, "_hook_note": "saved by the hook"}

    def _restore_fitted_state(self, fitted, weights):
        from sklearn_mlarch.persistence import default_restore_fitted_state

        self.restored_names_ = sorted(fitted)
        inherited = getattr(super(), "_restore_fitted_state", None)
        if inherited:
            inherited(fitted, weights)
        else:
            default_restore_fitted_state(self, fitted, weights)


class CNNWithInner(CNNClassifier):
    """A stand-in for a meta-estimator: an estimator of this package as a parameter."""

    def __init__(self, estimator=None, channels=(4,), hidden_sizes=(4,), max_epochs=1,
                 batch_size=64, random_state=0):
        super().__init__(channels=channels, hidden_sizes=hidden_sizes, max_epochs=max_epochs,
                         batch_size=batch_size, random_state=random_state)
        self.estimator = estimator


@pytest.fixture
def test_classes(monkeypatch):
    import sklearn_mlarch.utils

    known = sklearn_mlarch.utils.all_estimators()
    monkeypatch.setattr(sklearn_mlarch.utils, "all_estimators", lambda: sorted(
        known + [("CNNWithInner", CNNWithInner), ("HookedCNN", HookedCNN)]))


def test_the_fitted_state_hooks_are_used(digits, tmp_path, test_classes):
    X, y = digits
    est = HookedCNN(**SMALL).fit(X, y)
    path = save_model(est, tmp_path / "m")
    assert json.loads((path / "config.json").read_text())["fitted"]["_hook_note"] \
        == "saved by the hook"
    loaded = load_model(path)
    assert type(loaded) is HookedCNN
    assert loaded._hook_note == "saved by the hook"
    assert "_hook_note" in loaded.restored_names_
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_an_estimator_parameter_is_saved_with_its_parameters(digits, tmp_path, test_classes):
    from skorch.callbacks import EpochTimer

    X, y = digits
    inner = CNNClassifier(channels=(3, 5), lr=0.5, class_weight={0: 2.0},
                          callbacks=[EpochTimer()])
    est = CNNWithInner(estimator=inner).fit(X, y)
    path = save_model(est, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    assert config["params"]["estimator"]["__estimator__"] == "CNNClassifier"
    assert config["not_saved"] == ["estimator__callbacks"]
    loaded = load_model(path)
    assert type(loaded.estimator) is CNNClassifier
    expected = {**inner.get_params(), "callbacks": None}
    assert repr(sorted(loaded.estimator.get_params().items())) == repr(sorted(expected.items()))
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    given = [EpochTimer()]
    assert load_model(path, estimator__callbacks=given).estimator.callbacks is given
