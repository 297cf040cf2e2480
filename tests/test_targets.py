"""Target handlers: encoding, weights, decoding, and their saved state."""

import numpy as np
import pytest

from sklearn_mlarch._targets import (ClassTargets, RegressionTargets, normalise_weights,
                                     targets_from_state, targets_state)
from sklearn_mlarch.neural_network._multitask_targets import MultiTaskTargets


def test_class_targets_encode_any_label_type_and_decode_back():
    y = np.array(["b", "a", "c", "a"])
    t = ClassTargets()
    codes = t.fit(y)
    assert codes.tolist() == [1, 0, 2, 0] and t.n_outputs == 3
    logits = np.eye(3)[codes] * 5
    assert t.decode(logits).tolist() == y.tolist()
    assert np.allclose(t.proba(logits).sum(1), 1)
    with pytest.raises(ValueError, match=r"labels array\(\['d'\]"):
        t.encode(np.array(["a", "d"]))


def test_class_weights_multiply_per_sample():
    t = ClassTargets({0: 2.0, 1: 0.5})
    codes = t.fit(np.array([0, 1, 1, 0]))
    assert t.weights(codes).tolist() == [2.0, 0.5, 0.5, 2.0]
    unknown = ClassTargets({7: 1.0})
    codes = unknown.fit(np.array([0, 1]))
    with pytest.raises(ValueError, match="not in the classes"):
        unknown.weights(codes)


def test_one_class_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"y has samples of only 1 class \(3\); Net needs"):
        ClassTargets(owner="Net").fit(np.array([3, 3, 3]))


def test_regression_targets_standardise_with_weights_and_map_back():
    y = np.array([1.0, 2.0, 3.0, 10.0])
    t = RegressionTargets()
    z = t.fit(y, sample_weight=np.array([1, 1, 1, 0.0]))
    assert t.mean_[0] == pytest.approx(2.0)  # the weight-0 row does not count
    assert np.allclose(t.decode(z), y)
    with pytest.raises(ValueError, match="regressor takes no classes"):
        t.encode(y, classes=[0, 1])


def test_normalise_weights():
    assert normalise_weights(np.ones(4), np.float32) is None
    w = normalise_weights(np.array([1.0, 3.0]), np.float32)
    assert w.tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="sums to zero"):
        normalise_weights(np.zeros(3), np.float32)
    with pytest.raises(ValueError, match="spans more than float32"):
        normalise_weights(np.array([1e-60, 1.0]), np.float32)


def test_multitask_missing_entries_and_state_round_trip():
    Y = np.array([[0, 1.5], [1, -1.0], [-1, 2.0], [1, 0.5]], dtype=float)
    t = MultiTaskTargets(regression_tasks=[1], missing_label=-1, owner="M")
    t.read_columns(Y, reset=True)
    codes = t.fit(Y)
    # -1 marks a missing class label, but is a value of the regression task
    assert np.isnan(codes[2, 0]) and not np.isnan(codes[1, 1])
    assert t.n_outputs == [2, 1] and t.head_classes()[1] is None
    again = targets_from_state(targets_state(t))
    assert type(again) is MultiTaskTargets
    assert np.array_equal(again.encode(Y), codes, equal_nan=True)
    outputs = (np.array([[2.0, 0.0]]), np.array([[0.0]]))
    assert again.decode(outputs).tolist() == t.decode(outputs).tolist()
