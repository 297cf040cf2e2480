"""Surprises a hostile new user found in the composition API, fixed.

Each test asserts what a user would expect; the comment above it says what
went wrong before the fix. All fits are tiny (40-60 rows, 1-2 epochs, a 4-unit layer).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_mlarch import (CNNClassifier, DeepEnsembleClassifier, FeedForwardClassifier,
                            FeedForwardRegressor, HyperbandSearchCV, MAMLRegressor,
                            MultiTaskClassifier, TorchModuleClassifier, load_model,
                            save_model)

RNG = np.random.RandomState(0)
X = RNG.randn(40, 8).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
yr = X[:, 0].astype(np.float64)
Y = np.c_[y, 1 - y]
MAML_FAST = dict(n_meta_iter=2, k_shot=2, n_query=2, meta_batch_size=2)


def ff(**kw):
    return FeedForwardClassifier(**{"hidden_sizes": (4,), "max_epochs": 1, "random_state": 0,
                                    **kw})


def ffr(**kw):
    return FeedForwardRegressor(**{"hidden_sizes": (4,), "max_epochs": 1, "random_state": 0,
                                   **kw})


class _Body(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(8, 5)

    def forward(self, x):
        return torch.relu(self.lin(x.flatten(1)))


# Before the fix: AttributeError "'NoneType' object has no attribute 'set_params'": the default
# estimator (estimator=None -> CNNClassifier()) cannot be reached by estimator__ params.
def test_nested_params_reach_the_default_estimator():
    meta = MultiTaskClassifier()
    try:
        meta.set_params(estimator__lr=0.1)
    except AttributeError as exc:  # the bug
        pytest.fail(f"set_params(estimator__lr=...) on the default estimator: {exc!r}")
    except ValueError as exc:  # acceptable: a message that says what to do
        assert "estimator=" in str(exc)


# Before the fix: the same AttributeError from inside GridSearchCV, with no hint to pass estimator=.
def test_grid_search_on_meta_estimator_with_default_estimator():
    grid = GridSearchCV(MultiTaskClassifier(), {"estimator__max_epochs": [1]}, cv=2,
                        error_score="raise")
    try:
        grid.fit(X, Y)  # a working search is what a user expects
    except AttributeError as exc:  # the bug
        pytest.fail(f"GridSearchCV over estimator__ params of the default: {exc!r}")
    except ValueError as exc:  # acceptable: a message that says what to do
        assert "estimator=" in str(exc)


# Before the fix: "Invalid parameter 'lr' for estimator MultiTaskClassifier ... Valid parameters
# are: [...]": nothing says the learning rate is now estimator__lr.
def test_meta_set_params_of_a_training_setting_hints_the_nested_name():
    with pytest.raises(ValueError, match="estimator__lr"):
        MultiTaskClassifier(ff()).set_params(lr=0.1)


# Before the fix: "warm_start=True continues ... Set warm_start=False": a meta-estimator has no
# warm_start; set_params(warm_start=False) then fails. It should say estimator__warm_start.
def test_meta_warm_start_refusal_names_the_nested_parameter():
    meta = MultiTaskClassifier(ff()).fit(X, Y)
    meta.set_params(estimator__warm_start=True, estimator__hidden_sizes=(6,))
    with pytest.raises(ValueError, match="estimator__warm_start"):
        meta.fit(X, Y)


# Before the fix: partial_fit after an architecture change says "warm_start=True continues the
# fitted network ... Set warm_start=False", though the user called partial_fit and never
# set warm_start: the message should speak of partial_fit (and call fit to rebuild).
def test_partial_fit_refusal_speaks_of_partial_fit():
    meta = DeepEnsembleClassifier(ff(), n_estimators=2).partial_fit(X, y)
    meta.set_params(n_estimators=3)
    with pytest.raises(ValueError) as info:
        meta.partial_fit(X, y)
    message = str(info.value)
    assert "partial_fit" in message and "warm_start=True" not in message


# Before the fix: after load_model, a warm start trains 1 more epoch but n_iter_ says 1 (not 2):
# the saved n_iter_ is dropped once the (unsaved) history restarts.
def test_n_iter_counts_on_after_load_model_and_warm_start(tmp_path):
    meta = MultiTaskClassifier(ff()).fit(X, Y)
    save_model(meta, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.n_iter_ == 1
    loaded.set_params(estimator__warm_start=True).fit(X, Y)
    assert loaded.n_iter_ == 2


# Before the fix: MAMLRegressor.fit(DataFrame) warns "X does not have valid feature names, but
# FeedForwardRegressor was fitted with feature names" (the other meta-estimators do not).
def test_maml_fit_on_dataframe_does_not_warn_about_feature_names():
    df = pd.DataFrame(X, columns=list("abcdefgh"))
    maml = MAMLRegressor(ffr(), **MAML_FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maml.fit(df, yr)
    assert not [w for w in caught if "feature names" in str(w.message)]


# Before the fix: mixed str/int labels are silently turned into strings (classes_ ['1', 'a'],
# the int label 1 predicted as '1'), while CNNClassifier and MLPClassifier refuse them.
def test_multitask_refuses_mixed_label_types_like_the_base_estimator():
    mixed = np.array(["a" if v else 1 for v in y], dtype=object)
    with pytest.raises((TypeError, ValueError)):
        ff().fit(X, mixed)  # the base estimator refuses
    with pytest.raises((TypeError, ValueError)):
        MultiTaskClassifier(ff()).fit(X, np.c_[mixed, y].astype(object))


# Before the fix: one pandas nullable Int64 column turns every task's classes_ (and predict) into
# float64, even a plain int64 column: the labels do not keep their own types.
def test_multitask_keeps_integer_labels_with_pandas_nullable_ints():
    frame = pd.DataFrame({"a": pd.array(y, dtype="Int64"), "b": 1 - y})
    frame.loc[::3, "a"] = pd.NA
    meta = MultiTaskClassifier(ff()).fit(X, frame)
    assert meta.classes_[1].dtype.kind in "iu"  # column b is plain int64
    assert meta.classes_[0].dtype.kind in "iu"  # Int64 with NA: integer labels


# Decided: a torch module of the user's may be pre-trained, so every member copies
# its weights (documented in DeepEnsembleClassifier); the heads start differently
def test_deep_ensemble_of_torch_module_members_copy_the_module_and_differ_in_heads():
    base = TorchModuleClassifier(_Body(), max_epochs=1, random_state=0, lr=1e-30,
                                 lr_schedule="constant")
    ens = DeepEnsembleClassifier(base, n_estimators=2, bootstrap=False).fit(X, y)
    state = ens.net_.module_.state_dict()
    assert torch.allclose(state["trunk.lin.weight"][0], state["trunk.lin.weight"][1])
    assert not torch.allclose(state["head.weight"][0], state["head.weight"][1])


# Before the fix: with n_estimators=1 and bootstrap=False the CNN ensemble equals its base
# estimator (1e-8) but a FeedForward one does not (about 0.2 apart): building the
# member loop draws a probe network from the seed first.
def test_single_member_ensemble_equals_its_base_estimator():
    base = ff(max_epochs=2)
    ens = DeepEnsembleClassifier(base, n_estimators=1, bootstrap=False).fit(X, y)
    single = clone(base).fit(X, y)
    np.testing.assert_allclose(ens.predict_proba(X), single.predict_proba(X), atol=1e-5)


# Before the fix: "resource='max_epochs' is not a parameter of DeepEnsembleClassifier; pass one of
# its integer parameters (e.g. 'max_epochs', ...)": it suggests the very name it refuses.
def test_hyperband_resource_error_suggests_the_nested_name():
    search = HyperbandSearchCV(DeepEnsembleClassifier(ff(), n_estimators=2),
                               {"estimator__lr": [1e-3, 1e-2]}, resource="max_epochs",
                               max_resource=3, cv=2, random_state=0)
    with pytest.raises(ValueError, match="estimator__max_epochs"):
        search.fit(X, y)


# Before the fix: resource='estimator__max_epochs' on MAML runs silently: MAML ignores max_epochs,
# so every rung trains the full n_meta_iter and the resource changes nothing.
def test_hyperband_refuses_a_resource_maml_does_not_use():
    search = HyperbandSearchCV(MAMLRegressor(ffr(), **MAML_FAST), {"estimator__lr": [1e-3, 1e-2]},
                               resource="estimator__max_epochs", max_resource=3, min_resource=1,
                               cv=2, random_state=0)
    with pytest.raises(ValueError, match="n_meta_iter"):
        search.fit(X, yr)


# Before the fix: groups given as a list of tuples fails with "y should be a 1d array, got an array
# of shape (40, 2)": the message names y, not groups.
def test_maml_bad_groups_error_names_groups():
    groups = [(i // 10, 0) for i in range(len(X))]
    with pytest.raises(ValueError, match="groups"):
        MAMLRegressor(ffr(), **MAML_FAST).fit(X, yr, groups=groups)


# Before the fix: a task family whose sample() returns something else than arrays fails deep in
# torch with "TypeError: new(): invalid data type 'str'".
def test_maml_task_family_returning_garbage_gets_a_clear_error():
    class Garbage:
        def sample(self, n_tasks, n_points, generator):
            return "not arrays"

    with pytest.raises(ValueError, match="sample"):
        MAMLRegressor(ffr(), **MAML_FAST).fit(Garbage())


# Before the fix: cross_val_score clones the fitted init_from source and then says "(not fitted:
# call fit first)" though the user did fit it; the fix (FrozenEstimator or a saved
# folder, as the README says) is not in the message.
def test_init_from_unfitted_by_clone_message_names_frozen_estimator():
    source = ff().fit(X, y)
    meta = MultiTaskClassifier(ff(init_from=source))
    with pytest.raises(ValueError, match="FrozenEstimator"):
        cross_val_score(meta, X, Y, cv=2, error_score="raise")


# Before the fix: a CNN (inside a deep ensemble) given series of another length says "X has
# samples of shape (2, 6) ... e.g. X.transpose(0, 3, 1, 2) for (n, H, W, C) images",
# a hint about images; the RNN's message names the lengths and the fix (a list of series).
def test_cnn_wrong_series_length_message_speaks_of_length():
    Xs = X.reshape(40, 2, 4)
    ens = DeepEnsembleClassifier(CNNClassifier(channels=(2,), max_epochs=1, random_state=0),
                                 n_estimators=2).fit(Xs, y)
    with pytest.raises(ValueError) as info:
        ens.predict(RNG.randn(3, 2, 6).astype(np.float32))
    message = str(info.value)
    assert "transpose(0, 3, 1, 2)" not in message
    assert "length" in message or "time steps" in message


# Before the fix: groups of None raised "TypeError: '<' not supported between
# instances of 'NoneType' and 'NoneType'" from numpy.
def test_maml_groups_of_none_get_a_clear_error():
    with pytest.raises(ValueError, match="groups must hold one task label per row.*without "
                                         "None.*groups=None for one task"):
        MAMLRegressor(ffr(), **MAML_FAST).fit(X, yr, groups=[None] * len(X))


# Before the fix: "X has 7 features, but FeedForwardClassifier is expecting 8 features
# as input": the user fitted a MultiTaskClassifier.
def test_meta_predict_error_names_the_meta_estimator():
    meta = MultiTaskClassifier(ff()).fit(X, Y)
    with pytest.raises(ValueError, match="X has 7 features, but MultiTaskClassifier is "
                                         "expecting 8 features"):
        meta.predict(X[:, :7])
