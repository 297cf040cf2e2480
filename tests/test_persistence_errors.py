"""save_model / load_model under failure: atomic saves, refused folders and files."""

import copy
import json
import os
import re

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_mlarch import CNNClassifier, load_model, save_model

SMALL = dict(channels=(4,), hidden_sizes=(4,), max_epochs=1, batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def model(digits):
    return CNNClassifier(**SMALL).fit(*digits)


@pytest.fixture(scope="module")
def other(digits):
    """Same architecture as ``model``, different weights and parameters."""
    return CNNClassifier(**{**SMALL, "random_state": 1, "lr": 0.01}).fit(*digits)


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _full_disk(exc):
    """A torch.save that writes part of the file, then fails."""
    def fake_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as handle:
                handle.write(b"PK\x03\x04partial")
        else:
            f.write(b"PK\x03\x04partial")
        raise exc
    return fake_save


# ------------------------------------------------------------------ finding 1
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_a_failed_save_leaves_the_old_model_loadable_and_unchanged(model, other, digits,
                                                                   tmp_path, monkeypatch, exc):
    path = save_model(model, tmp_path / "m")
    before = _files(path)
    monkeypatch.setattr(torch, "save", _full_disk(exc))
    with pytest.raises(type(exc)):
        save_model(other, path)
    monkeypatch.undo()
    assert _files(path) == before
    assert os.listdir(tmp_path) == ["m"]  # no temporary folder left behind
    assert_array_equal(load_model(path).predict_proba(digits[0]),
                       model.predict_proba(digits[0]))


@pytest.mark.parametrize("failing_call", [1, 2])
@pytest.mark.parametrize("exc", [OSError(18, "Invalid cross-device link"), KeyboardInterrupt()],
                         ids=["oserror", "interrupt"])
def test_a_save_failing_during_the_swap_puts_the_old_model_back(model, other, tmp_path,
                                                                monkeypatch, exc, failing_call):
    # the swap renames the old folder aside (call 1), then the new one in (call 2)
    path = save_model(model, tmp_path / "m")
    before = _files(path)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == failing_call:
            raise exc
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(type(exc)):
        save_model(other, path)
    monkeypatch.undo()
    assert _files(path) == before
    assert os.listdir(tmp_path) == ["m"]


def test_saves_into_an_empty_folder_and_over_a_saved_model(model, other, digits, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    save_model(model, folder)
    save_model(other, folder)
    assert sorted(os.listdir(folder)) == ["config.json", "weights.pt"]
    assert os.listdir(tmp_path) == ["m"]
    assert_array_equal(load_model(folder).predict_proba(digits[0]),
                       other.predict_proba(digits[0]))
    assert load_model(folder).lr == 0.01


def _foreign_folders(tmp_path, model):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text('{"mine": 1}')
    extra = save_model(model, tmp_path / "extra")
    (extra / "results.csv").write_text("1,2")
    a_file = tmp_path / "a_file"
    a_file.write_text("data")
    return [notes, foreign, extra, a_file]


def test_save_refuses_a_folder_it_did_not_write(model, tmp_path):
    for target in _foreign_folders(tmp_path, model):
        before = _files(target) if target.is_dir() else target.read_bytes()
        with pytest.raises(ValueError, match=re.escape(repr(str(target))) +
                           ".*pass a new or empty folder"):
            save_model(model, target)
        assert (_files(target) if target.is_dir() else target.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["a_file", "extra", "foreign", "notes"]


# ------------------------------------------------------------------ finding 2
@pytest.mark.parametrize("value", [np.complex128(1j), object(), [np.zeros(2, complex)]],
                         ids=["complex", "object", "complex-array"])
def test_an_unstorable_fitted_attribute_is_refused_before_writing(model, tmp_path, value):
    est = copy.deepcopy(model)
    est.odd_ = value
    with pytest.raises(ValueError, match="fitted attribute 'odd_'"):
        save_model(est, tmp_path / "new" / "m")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ finding 3
@pytest.mark.parametrize("name", ["weights.pt", "config.json"])
def test_a_symlinked_file_is_refused(model, other, tmp_path, name):
    path = save_model(model, tmp_path / "m")
    target = save_model(other, tmp_path / "o") / name
    os.remove(path / name)
    os.symlink(target, path / name)
    with pytest.raises(ValueError, match=f"{name}.*symbolic link"):
        load_model(path)


def test_missing_weights_are_a_value_error(model, tmp_path):
    path = save_model(model, tmp_path / "m")
    os.remove(path / "weights.pt")
    with pytest.raises(ValueError, match="weights.pt is missing"):
        load_model(path)


def test_damaged_weights_are_a_value_error(model, tmp_path):
    path = save_model(model, tmp_path / "m")
    data = (path / "weights.pt").read_bytes()
    (path / "weights.pt").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="weights.pt"):
        load_model(path)


def test_weights_of_the_wrong_shapes_are_named(model, digits, tmp_path):
    path = save_model(model, tmp_path / "m")
    wider = CNNClassifier(**{**SMALL, "channels": (5,)}).fit(*digits)
    wide_path = save_model(wider, tmp_path / "w")
    (path / "weights.pt").write_bytes((wide_path / "weights.pt").read_bytes())
    narrow, wide = model.net_.module_.state_dict(), wider.net_.module_.state_dict()
    name = next(k for k in narrow if narrow[k].shape != wide[k].shape)
    with pytest.raises(ValueError, match=re.escape(
            f"{name} (saved {tuple(wide[name].shape)}, network {tuple(narrow[name].shape)})")):
        load_model(path)


@pytest.mark.parametrize("name", ["predict", "__class__", "__dict__", "fit", "lr", "_repr_html_",
                                  "_get_param_names", "__secret", "not an identifier_"])
def test_fitted_entries_may_only_set_fitted_state(model, tmp_path, name):
    path = save_model(model, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["fitted"][name] = 1
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"fitted entry {re.escape(repr(name))}"):
        load_model(path)


def test_parameters_the_class_does_not_accept_are_a_value_error(model, tmp_path):
    path = save_model(model, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["params"]["bogus"] = 1
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not accept.*bogus"):
        load_model(path)


@pytest.mark.parametrize("value", [{"__weird__": 1}, {"__ndarray__": [1], "dtype": "nope",
                                                      "shape": [1]}])
def test_values_save_model_never_writes_are_a_value_error(model, tmp_path, value):
    path = save_model(model, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["fitted"]["classes_"] = value
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="fitted entry 'classes_' that cannot be read back"):
        load_model(path)
