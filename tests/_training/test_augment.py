"""The ``augment`` parameter of the CNN estimators (sklearn_mlarch/_training/augment.py)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_mlarch import CNNClassifier, CNNRegressor, load_model, save_model
from sklearn_mlarch._training.augment import BUILT_INS, IMAGE_AUGMENTS, SERIES_AUGMENTS
from sklearn_mlarch.datasets import load_digits_images


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_images()
    return X[:60], y[:60]


@pytest.fixture(scope="module")
def series():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 2, 20).astype(np.float32)
    return X, X.mean(axis=(1, 2))


def _clf(**params):
    return CNNClassifier(**{"channels": (4,), "max_epochs": 2, "random_state": 0, **params})


def _weights(est):
    return {k: v.clone() for k, v in est.net_.module_.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_builtin_keeps_shape_and_dtype_changes_values_and_is_reproducible(name):
    shape = (16, 2, 8, 8) if name in IMAGE_AUGMENTS else (16, 2, 30)
    X = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    out = BUILT_INS[name](X, torch.Generator().manual_seed(1))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert not torch.equal(out, X)
    assert torch.equal(out, BUILT_INS[name](X, torch.Generator().manual_seed(1)))
    assert torch.equal(X, torch.randn(shape, generator=torch.Generator().manual_seed(0)))


def test_augment_changes_the_trained_weights(digits):
    X, y = digits
    plain = _weights(_clf().fit(X, y))
    for augment in ("crop", "flip", ["flip", "crop"]):
        assert not _same(plain, _weights(_clf(augment=augment).fit(X, y)))
    assert _same(_weights(_clf(augment="crop").fit(X, y)),
                 _weights(_clf(augment="crop").fit(X, y)))


def test_series_builtins_train(series):
    X, y = series
    reg = CNNRegressor(channels=(4,), max_epochs=2, random_state=0,
                       augment=("jitter", "scale", "window")).fit(X, y)
    plain = CNNRegressor(channels=(4,), max_epochs=2, random_state=0).fit(X, y)
    assert not _same(_weights(reg), _weights(plain))


def test_only_training_batches_are_augmented_never_at_predict(digits):
    X, y = digits
    seen, state = [], {"training": True}

    def record(X_batch, generator):
        if not state["training"]:
            raise AssertionError("augment called outside training")
        assert isinstance(generator, torch.Generator)
        seen.append(len(X_batch))
        return X_batch

    clf = _clf(augment=record, early_stopping=True, validation_fraction=0.25,
               batch_size=100).fit(X, y)
    # 45 training rows in one batch per epoch; the 15 validation rows never
    assert seen == [45, 45]
    state["training"] = False
    clf.predict(X)
    clf.predict_proba(X)


def test_one_argument_callable(digits):
    X, y = digits
    calls = []
    _clf(augment=lambda X_batch: calls.append(X_batch.shape) or X_batch).fit(X, y)
    assert calls and all(tuple(s[1:]) == (1, 8, 8) for s in calls)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_resumption_is_exact_with_augmentation(digits, how):
    X, y = digits
    whole = _clf(augment="crop", max_epochs=3).fit(X, y)
    if how == "warm_start":
        parts = _clf(augment="crop", max_epochs=1, warm_start=True).fit(X, y)
        parts.set_params(max_epochs=2).fit(X, y)
    else:
        parts = _clf(augment="crop", max_epochs=1).fit(X, y)
        parts.partial_fit(X, y).partial_fit(X, y)  # one epoch each
    assert _same(_weights(whole), _weights(parts))


def test_wrong_shape_raises_and_leaves_the_estimator_unchanged(digits):
    X, y = digits
    clf = _clf(warm_start=True).fit(X, y)
    before, n_iter = _weights(clf), clf.n_iter_
    # a warm start applies a new augment to the fitted network
    clf.set_params(augment=lambda X_batch: X_batch[:, :, :4])
    with pytest.raises(ValueError, match=r"augment=.*shape \(\d+, 1, 4, 8\)"):
        clf.fit(X, y)
    assert _same(before, _weights(clf)) and clf.n_iter_ == n_iter
    with pytest.raises(ValueError, match="augment.*dtype"):
        _clf(augment=lambda X_batch: X_batch.double()).fit(X, y)


def test_bad_names_raise(digits, series):
    X, y = digits
    with pytest.raises(ValueError, match="augment=.*'rotate' is not a built-in"):
        _clf(augment="rotate").fit(X, y)
    with pytest.raises(ValueError, match="augment"):
        _clf(augment=3).fit(X, y)
    Xs, ys = series
    with pytest.raises(ValueError, match=r"augment='flip'.*series.*jitter"):
        CNNRegressor(channels=(4,), max_epochs=1, augment="flip").fit(Xs, ys)
    with pytest.raises(ValueError, match=r"'jitter' does not fit.*images.*crop"):
        _clf(augment=["crop", "jitter"]).fit(X, y)


def test_params_clone_pickle_and_save_model(digits, tmp_path):
    X, y = digits
    clf = _clf(augment=["flip", "crop"]).fit(X, y)
    assert clone(clf).get_params()["augment"] == ["flip", "crop"]
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    loaded = load_model(save_model(clf, tmp_path / "names"))
    assert list(loaded.augment) == ["flip", "crop"]
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))

    def identity(X_batch):
        return X_batch

    fitted = _clf(augment=identity).fit(X, y)
    folder = save_model(fitted, tmp_path / "callable")
    assert load_model(folder).augment is None
    assert load_model(folder, augment=identity).augment is identity


def test_multi_task_with_a_wrapped_cnn_augments(digits):
    from sklearn_mlarch import MultiTaskClassifier

    X, y = digits
    Y = np.column_stack([y, y % 2])
    seen = []

    def record(X_batch):
        seen.append(tuple(X_batch.shape[1:]))
        return X_batch

    MultiTaskClassifier(CNNClassifier(channels=(4,), max_epochs=1, augment=record),
                        random_state=0).fit(X, Y)
    assert seen and set(seen) == {(1, 8, 8)}
    MultiTaskClassifier(CNNClassifier(channels=(4,), max_epochs=1, augment="flip"),
                        random_state=0).fit(X, Y)


def test_series_of_different_lengths(series):
    X, y = series
    ragged = [x[:, :15 + i % 5] for i, x in enumerate(X)]
    reg = CNNRegressor(channels=(4,), max_epochs=2, random_state=0,
                       augment=["jitter", "scale"]).fit(ragged, y)
    assert np.isfinite(reg.predict(ragged)).all()
    with pytest.raises(ValueError, match="augment=.*'window'.*different lengths"):
        CNNRegressor(channels=(4,), max_epochs=1, augment="window").fit(ragged, y)


def test_deep_ensemble_with_a_wrapped_cnn(digits):
    from sklearn_mlarch import DeepEnsembleClassifier

    X, y = digits
    DeepEnsembleClassifier(CNNClassifier(channels=(4,), max_epochs=1, augment="crop"),
                           n_estimators=2, random_state=0).fit(X, y)


def test_series_names_listed():
    assert set(IMAGE_AUGMENTS) | set(SERIES_AUGMENTS) == set(BUILT_INS)
