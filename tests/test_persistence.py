"""save_model / load_model: bit-identical round trips, no code execution, GPU to CPU."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_mlarch import (CNNClassifier, CNNRegressor, MultiTaskClassifier, RNNClassifier,
                            RNNRegressor, load_model, save_model)
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
    est = fast_instance(cls, max_epochs=2).fit(X, target)
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
    seqs = [rng.randn(3 + i % 4, 2) for i in range(20)]
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
    est = fast_instance(MultiTaskClassifier, trunk=trunk, input_shape=(1, 8, 8),
                        max_epochs=1).fit(X, np.c_[y, y % 2])
    path = save_model(est, tmp_path / "m")
    assert "trunk" in json.loads((path / "config.json").read_text())["not_saved"]
    loaded = load_model(path, trunk=trunk)
    assert_array_equal(loaded.predict(X), est.predict(X))


def test_class_weight_with_integer_keys_is_saved(digits, tmp_path):
    X, y = digits
    est = fast_instance(CNNClassifier, max_epochs=1, class_weight={0: 2.0, 1: 1.0}).fit(X, y)
    assert load_model(save_model(est, tmp_path / "m")).class_weight == {0: 2.0, 1: 1.0}


def test_a_module_trunk_must_be_given_back(digits, tmp_path):
    X, y = digits
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.ReLU())
    est = fast_instance(MultiTaskClassifier, trunk=trunk, input_shape=(1, 8, 8),
                        max_epochs=1).fit(X, np.c_[y, y % 2])
    with pytest.raises(ValueError, match="pass the same module"):
        load_model(save_model(est, tmp_path / "m"))
