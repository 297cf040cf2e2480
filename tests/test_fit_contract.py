"""The training engine contract, seen from the estimators.

Callbacks that read ``y``, named blocks, atomic fits, exact resumption,
reproducibility under threads, and clear errors instead of silent wrong
results.
"""

import os
import signal
import threading
import warnings

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from skorch.callbacks import (Callback, Checkpoint, EarlyStopping, EpochScoring, Freezer,
                              GradientNormClipping, LRScheduler, ProgressBar)

from sklearn_mlarch import CNNClassifier, CNNRegressor, RNNClassifier, RNNRegressor
from sklearn_mlarch._engine import fused_supported
from sklearn_mlarch.exceptions import (ConcurrentFitError, TrainingDivergedError,
                                       TrainingStoppedWarning)
from sklearn_mlarch.utils._testing import fast_instance

# Checks that hold for every estimator (same seed same model, in threads too;
# a failed fit changes nothing; pickling and save_model round trips; exact
# resumption with warm_start and partial_fit) run on every discovered
# estimator in tests/test_shared_behaviour.py.


def _state(est):
    """Everything a fit may change, as comparable values."""
    module = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    opt = est.net_.optimizer_.state_dict()
    return dict(module=module, opt_steps=[s.get("step") for s in opt["state"].values()],
                n_iter=est.n_iter_, history=len(est.history_),
                classes=getattr(est, "classes_", None))


def _assert_same_state(a, b):
    assert a["n_iter"] == b["n_iter"] and a["history"] == b["history"]
    assert a["opt_steps"] == b["opt_steps"]
    for k in a["module"]:
        assert torch.equal(a["module"][k], b["module"][k]), k
    if a["classes"] is not None:
        assert_array_equal(a["classes"], b["classes"])


def _weights_equal(a, b):
    sa, sb = a.net_.module_.state_dict(), b.net_.module_.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------ 1. callbacks read y
@pytest.mark.parametrize("cls, scorer", [(CNNClassifier, "accuracy"), (RNNClassifier, "accuracy"),
                                         (CNNRegressor, "r2"), (RNNRegressor, "r2")])
def test_epoch_scoring_with_a_builtin_scorer_on_train_and_valid(cls, scorer, blobs):
    X, y = blobs
    est = fast_instance(cls, max_epochs=4, early_stopping=True, n_iter_no_change=50,
                        callbacks=[EpochScoring(scorer, on_train=True, name="train_score"),
                                   EpochScoring(scorer, name="valid_score")]).fit(X, y)
    train, valid = est.history_[:, "train_score"], est.history_[:, "valid_score"]
    assert len(train) == len(valid) == 4
    assert train[-1] > 0.5 and valid[-1] > 0.5  # real scores of learnable blobs


def test_epoch_scoring_accuracy_matches_the_estimator(blobs):
    X, y = blobs
    labels = np.array(["neg", "pos"])[y]
    clf = fast_instance(CNNClassifier, max_epochs=3, batch_size=200,
                        callbacks=[EpochScoring("accuracy", on_train=True, use_caching=False,
                                                name="acc")]).fit(X, labels)
    assert clf.history_[-1, "acc"] == pytest.approx(clf.score(X, labels))


@pytest.mark.parametrize("cls", [CNNClassifier, RNNClassifier])
def test_skorch_callbacks_work(cls, blobs, tmp_path, capsys):
    X, y = blobs
    callbacks = [LRScheduler("StepLR", step_size=1, gamma=0.5), GradientNormClipping(1.0),
                 Checkpoint(dirname=str(tmp_path), monitor="train_loss_best"),
                 EarlyStopping(monitor="train_loss", patience=50), ProgressBar()]
    est = fast_instance(cls, max_epochs=3, lr=0.01, callbacks=callbacks).fit(X, y)
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 3)
    assert (tmp_path / "params.pt").exists()
    assert est.score(X, y) > 0.8


@pytest.mark.parametrize("cls, frozen", [(CNNClassifier, "trunk.conv0.*"),
                                         (RNNClassifier, "trunk.rnn.*")])
def test_freezer_freezes_a_block_by_name(cls, frozen, blobs):
    X, y = blobs
    init = fast_instance(cls, max_epochs=1, lr=1e-12).fit(X, y)
    est = fast_instance(cls, max_epochs=3, callbacks=[Freezer(frozen)]).fit(X, y)
    before, after = init.net_.module_.state_dict(), est.net_.module_.state_dict()
    prefix = frozen[:-2]
    weights = [k for k in after if k.startswith(prefix) and "running" not in k
               and "num_batches" not in k]
    assert weights and all(torch.allclose(before[k], after[k]) for k in weights)
    assert not torch.allclose(before["head.weight"], after["head.weight"])


# ------------------------------------------------------------------ 2. lifecycle and names
def test_networks_name_their_blocks(digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), channels=(4, 8),
                        max_epochs=1).fit(X, y)
    names = {n.rsplit(".", 1)[0] for n, _ in cnn.net_.module_.named_parameters()}
    assert names == {"trunk.conv0.conv", "trunk.conv0.norm", "trunk.conv1.conv",
                     "trunk.conv1.norm", "trunk.dense0.linear", "head"}
    rnn = fast_instance(RNNClassifier, input_shape=(8, 8), hidden_sizes=(5,),
                        max_epochs=1).fit(X, y)
    names = {n.split(".")[1] for n, _ in rnn.net_.module_.named_parameters() if "trunk" in n}
    assert names == {"rnn", "dense0"}


# ------------------------------------------------------------------ 3. atomic fits
def test_refit_with_labels_that_fail_validation_keeps_the_fitted_model(blobs):
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=2).fit(X, np.array(["a", "b"])[y])
    before, proba = _state(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.full(len(X), "zebra"))
    _assert_same_state(before, _state(clf))
    assert_array_equal(clf.predict_proba(X), proba)
    assert set(clf.predict(X)) <= {"a", "b"}


def test_diverging_refit_keeps_the_fitted_model(blobs):
    X, y = blobs
    reg = fast_instance(CNNRegressor, max_epochs=2, warm_start=True).fit(X, y)
    before, pred = _state(reg), reg.predict(X)
    with pytest.raises(TrainingDivergedError):
        reg.set_params(optimizer="sgd", lr=1e38).fit(X * 1e6, y)
    _assert_same_state(before, _state(reg))
    assert_array_equal(reg.predict(X), pred)


@pytest.fixture
def default_sigint():
    """Python's own Ctrl-C handling (an earlier test's library may have changed it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _FailAtEpoch(Callback):
    def __init__(self, epoch, exc=RuntimeError, ctrl_c=None):
        self.epoch, self.exc = epoch, exc
        # a KeyboardInterrupt is a real Ctrl-C unless said otherwise
        self.ctrl_c = exc is KeyboardInterrupt if ctrl_c is None else ctrl_c

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            if self.ctrl_c:  # a real Ctrl-C, not a stop request
                os.kill(os.getpid(), signal.SIGINT)
            raise self.exc("callback failed")


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_callback_raising_in_a_warm_start_restores_everything(blobs, exc, default_sigint):
    # RuntimeError: a failing callback; KeyboardInterrupt: a real Ctrl-C (SIGINT)
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=2, warm_start=True,
                        callbacks=[_FailAtEpoch(4, exc)]).fit(X, y)
    before, proba = _state(clf), clf.predict_proba(X)
    with pytest.raises(exc):
        clf.fit(X, y)  # epochs 3 and 4; the callback raises at the end of epoch 4
    _assert_same_state(before, _state(clf))
    assert_array_equal(clf.predict_proba(X), proba)
    assert clf.n_iter_ == len(clf.history_) == 2


def test_callback_raising_keyboard_interrupt_stops_and_keeps_the_epochs(blobs, default_sigint):
    # skorch's convention: KeyboardInterrupt from a callback (no Ctrl-C) asks to stop
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=2, warm_start=True,
                        callbacks=[_FailAtEpoch(4, KeyboardInterrupt, ctrl_c=False)]).fit(X, y)
    before = _state(clf)
    with pytest.warns(TrainingStoppedWarning, match="after epoch 4 by raising KeyboardInterrupt"):
        clf.set_params(max_epochs=5).fit(X, y)  # epochs 3 to 7; stopped at the end of 4
    assert clf.n_iter_ == len(clf.history_) == 4  # the two epochs trained are kept
    after = clf.net_.module_.state_dict()
    assert any(not torch.equal(before["module"][k], after[k]) for k in after)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_ctrl_c_in_a_first_fit_leaves_it_unfitted(blobs, default_sigint):
    clf = fast_instance(CNNClassifier, max_epochs=3, callbacks=[_FailAtEpoch(2, KeyboardInterrupt)])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(*blobs)
    with pytest.raises(NotFittedError):
        clf.predict(blobs[0])
    assert not hasattr(clf, "n_features_in_") and not hasattr(clf, "classes_")


def test_early_stopping_is_not_mistaken_for_ctrl_c(blobs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingStoppedWarning)  # an expected stop: no warning
        clf = fast_instance(CNNClassifier, max_epochs=50,
                            callbacks=[EarlyStopping(monitor="train_loss", patience=1,
                                                     threshold=10.0)]).fit(*blobs)
    assert clf.n_iter_ == 2


def test_failed_partial_fit_keeps_the_model(blobs):
    X, y = blobs
    clf = fast_instance(CNNClassifier).partial_fit(X, y)
    before = _state(clf)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :5], y)
    _assert_same_state(before, _state(clf))


# ------------------------------------------------------------------ 4. exact resumption
# k epochs then m more equal k + m bit for bit: every estimator, in
# tests/test_shared_behaviour.py


def test_warm_start_applies_new_optimizer_settings_and_keeps_its_state(blobs):
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=2, warm_start=True).fit(X, y)
    steps = clf.net_.optimizer_.state_dict()["state"][0]["step"].item()
    clf.set_params(lr=1e-4, weight_decay=0.1).fit(X, y)
    group = clf.net_.optimizer_.param_groups[0]
    assert group["lr"] == 1e-4 and group["weight_decay"] == 0.1
    assert clf.net_.optimizer_.state_dict()["state"][0]["step"].item() > steps


@pytest.mark.parametrize("change", [dict(channels=(16,)), dict(hidden_sizes=(4,)),
                                    dict(dtype="float64"), dict(early_stopping=True)])
def test_warm_start_after_an_architecture_change_raises(blobs, change):
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=1, warm_start=True).fit(X, y)
    before = _state(clf)
    with pytest.raises(ValueError, match=f"{next(iter(change))}.*warm_start=False"):
        clf.set_params(**change).fit(X, y)
    _assert_same_state(before, _state(clf))


def test_partial_fit_with_early_stopping_raises(blobs):
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        fast_instance(CNNRegressor, early_stopping=True).partial_fit(*blobs)


# ------------------------------------------------------------------ 5. threads
def _fit_predict(est, X, y):
    return est.fit(X, y).predict_proba(X)


def test_same_seed_same_model_when_fitted_in_two_threads(digits):
    X, y = digits
    ests = [fast_instance(CNNClassifier, input_shape=(1, 8, 8), dropout=0.4, max_epochs=4),
            fast_instance(RNNClassifier, input_shape=(8, 8), num_layers=2, dropout=0.3,
                          max_epochs=3)]
    alone = [_fit_predict(e, X, y) for e in ests]
    for _ in range(2):
        together = Parallel(n_jobs=2, backend="threading")(
            delayed(_fit_predict)(e, X, y) for e in ests)
        for a, b in zip(alone, together):
            assert_array_equal(a, b)


def test_fitting_one_object_from_two_threads_raises(blobs):
    X, y = blobs
    started, release = threading.Event(), threading.Event()

    class Hold(Callback):
        def on_epoch_end(self, net, **kwargs):
            started.set()
            release.wait(30)

    clf = fast_instance(CNNClassifier, max_epochs=1, callbacks=[Hold()])
    thread = threading.Thread(target=clf.fit, args=(X, y))
    thread.start()
    started.wait(30)
    try:
        with pytest.raises(ConcurrentFitError, match="another thread.*clone"):
            clf.fit(X, y)
    finally:
        release.set()
        thread.join()
    assert clf.n_iter_ == 1  # the first fit completed


# ------------------------------------------------------------------ 6. no silent wrong results
def test_channels_last_X_at_predict_is_an_error(digits):
    X, y = digits
    clf = fast_instance(CNNClassifier, max_epochs=1).fit(X.reshape(-1, 1, 8, 8), y)
    with pytest.raises(ValueError, match=r"samples of shape \(8, 8, 1\).*transpose"):
        clf.predict(X.reshape(-1, 8, 8, 1))


def test_nd_X_contradicting_input_shape_is_an_error(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"\(8, 8, 1\) but input_shape=\(1, 8, 8\)"):
        fast_instance(CNNClassifier, input_shape=(1, 8, 8)).fit(X.reshape(-1, 8, 8, 1), y)


def test_exploding_finite_loss_is_an_error(digits):
    X, y = digits
    with pytest.raises(TrainingDivergedError, match="rose from .* Lower the learning rate"):
        fast_instance(CNNClassifier, input_shape=(1, 8, 8), lr=1e3, max_epochs=5).fit(X, y)


@pytest.mark.parametrize("make, match", [
    (lambda X, y, w: (X * 1e40, y, w), r"X has values up to .*float32"),
    (lambda X, y, w: (X * 1e-300, y, w), r"X has non-zero values as small as"),
    (lambda X, y, w: (X, y * 1e306, w), r"y cannot be standardised"),
    (lambda X, y, w: (X, y, np.r_[1e-60, np.ones(len(y) - 1)]), r"sample_weight .* would become 0"),
])
def test_values_that_overflow_or_vanish_in_the_training_dtype(blobs, make, match):
    X, y = blobs
    X, y, w = make(X, y.astype(float), None)
    with pytest.raises(ValueError, match=match):
        fast_instance(CNNRegressor, max_epochs=1).fit(X, y, sample_weight=w)


@pytest.mark.parametrize("param, value", [("channels", (8, 0)), ("channels", (8.5,)),
                                          ("kernel_size", (3, -1)), ("pool_size", (True,)),
                                          ("hidden_sizes", (16, 0))])
def test_bad_architecture_entries_name_the_parameter(blobs, param, value):
    params = {"channels": (8, 8)} if param in ("kernel_size",) else {}
    if param == "pool_size":
        params = {"channels": (8,)}
    with pytest.raises(ValueError, match=f"{param} must"):
        fast_instance(CNNClassifier, max_epochs=1, **{**params, param: value}).fit(*blobs)


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf])
def test_bad_class_weight_values(blobs, weight):
    with pytest.raises(ValueError, match="class_weight values must be finite and non-negative"):
        fast_instance(CNNClassifier, class_weight={0: 1.0, 1: weight}).fit(*blobs)


def test_unusable_callbacks_and_optimizers(blobs):
    with pytest.raises(ValueError, match=r"callbacks\[0\]"):
        fast_instance(CNNClassifier, callbacks=["print"]).fit(*blobs)
    with pytest.raises(ValueError, match="optimizer must be"):
        fast_instance(CNNClassifier, optimizer=dict).fit(*blobs)
    with pytest.raises(ValueError, match="optimizer_kwargs"):
        fast_instance(CNNClassifier, optimizer_kwargs={"momentun": 0.9}).fit(*blobs)


def test_last_batch_of_one_sample_with_batch_norm_trains(digits):
    X, y = digits
    clf = fast_instance(CNNClassifier, input_shape=(1, 8, 8), batch_size=64,
                        max_epochs=2).fit(X[:65], y[:65])
    assert clf.history_[-1, "train_batch_count"] == 1
    assert np.isfinite(clf.predict_proba(X[:5])).all()


def test_rnn_sequence_lists_of_equal_and_mixed_shapes():
    # series are (C, L): 2 channels of 6 time steps
    rng = np.random.RandomState(0)
    seqs = [rng.randn(2, 6) for _ in range(20)]
    y = np.arange(20) % 2
    clf = fast_instance(RNNClassifier, max_epochs=1).fit(seqs, y)
    assert clf.input_shape_ == (2, 6)
    assert_array_equal(clf.predict(seqs), clf.predict(np.stack(seqs)))
    with pytest.raises(ValueError, match=r"series with \[2, 3\] channels"):
        fast_instance(RNNClassifier).fit(seqs[:-1] + [rng.randn(3, 6)], y)


def test_rnn_shorter_array_after_a_ragged_fit_is_padded():
    rng = np.random.RandomState(0)
    seqs = [rng.randn(2, 4 + i % 5) for i in range(20)]  # (C, L_i)
    clf = fast_instance(RNNRegressor, max_epochs=1).fit(seqs, rng.randn(20))
    short = np.stack([s[:, :4] for s in seqs])
    assert_array_equal(clf.predict(short), clf.predict([s[:, :4] for s in seqs[:10]] +
                                                       [s[:, :4] for s in seqs[10:]]))


def test_rnn_real_nan_step_under_numeric_padding_is_an_error():
    X = np.random.RandomState(0).randn(10, 2, 5)  # (n, C, L)
    X[3, :, 2] = np.nan  # missing data in the middle of a sequence, not padding
    with pytest.raises(ValueError, match="X contains NaN, but padding_value=0.0"):
        fast_instance(RNNClassifier, padding_value=0.0).fit(X, np.arange(10) % 2)


# ------------------------------------------------------------------ found by a hostile review
def test_lr_scheduler_resumes_exactly(blobs):
    X, y = blobs

    def sched():
        return [LRScheduler("StepLR", step_size=1, gamma=0.5)]

    once = fast_instance(CNNClassifier, max_epochs=4, callbacks=sched()).fit(X, y)
    warm = fast_instance(CNNClassifier, max_epochs=2, warm_start=True, callbacks=sched())
    warm.fit(X, y).fit(X, y)
    steps = fast_instance(CNNClassifier, callbacks=sched())
    for _ in range(4):
        steps.partial_fit(X, y)
    for other in (warm, steps):
        assert (other.net_.optimizer_.param_groups[0]["lr"]
                == once.net_.optimizer_.param_groups[0]["lr"])
        assert _weights_equal(once, other)


@pytest.mark.parametrize("change", [dict(input_shape=(2, 4)), dict(kernel_size=5)])
def test_any_architecture_or_target_setting_change_raises_on_warm_start(blobs, change):
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=f"{next(iter(change))}.*warm_start=False"):
        clf.set_params(**change).fit(X, y)


def test_removed_optimizer_setting_returns_to_its_default(blobs):
    X, y = blobs
    clf = fast_instance(CNNClassifier, max_epochs=1, warm_start=True,
                        optimizer_kwargs={"betas": (0.5, 0.6), "amsgrad": True}).fit(X, y)
    clf.set_params(optimizer_kwargs=None).fit(X, y)
    group = clf.net_.optimizer_.param_groups[0]
    assert group["betas"] == (0.9, 0.999) and group["amsgrad"] is False


@pytest.mark.parametrize("kw, match", [
    (dict(callbacks=[EpochScoring]), r"the class EpochScoring: pass an instance"),
    (dict(input_shape=(2, -4, -8)), "input_shape must hold positive integers"),
    (dict(input_shape=(1, 8, 8.7)), "input_shape must hold positive integers"),
    (dict(batch_size=1), "batch_size=1 with batch normalisation"),
])
def test_more_clear_errors(digits, kw, match):
    with pytest.raises(ValueError, match=match):
        fast_instance(CNNClassifier, max_epochs=1, **kw).fit(*digits)


# ------------------------------------------------------------------ lr_schedule='plateau'
def _stalling_fit(**params):
    # constant inputs: only the output bias can learn, so the training loss
    # flattens at the labels' entropy and the plateau schedule must act
    X = np.zeros((40, 1, 8))
    y = np.random.RandomState(0).randint(0, 2, 40)
    return X, y, fast_instance(CNNClassifier, batch_size="full", lr=0.05, **params)


def _plateau_rule(losses, lr, patience=20, factor=0.5, min_ratio=0.1):
    """The documented rule, written out: the rate used in each epoch."""
    best, bad, rates = np.inf, 0, []
    for loss in losses:
        rates.append(lr)
        if loss < best * (1 - 1e-4):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            lr, bad = max(lr * factor, min_ratio * 0.05), 0
    return rates


def test_plateau_schedule_halves_the_rate_when_the_training_loss_stalls():
    X, y, clf = _stalling_fit(max_epochs=80)
    clf.fit(X, y)
    rates = clf.history_[:, "event_lr"]
    assert rates == pytest.approx(_plateau_rule(clf.history_[:, "train_loss"], 0.05))
    assert min(rates) < 0.05  # it acted


@pytest.mark.parametrize("params", [{}, {"trunk_lr": 0.02}])
def test_plateau_schedule_resumes_exactly(params):
    X, y, once = _stalling_fit(max_epochs=90, **params)
    once.fit(X, y)
    *_, warm = _stalling_fit(max_epochs=60, warm_start=True, **params)
    warm.fit(X, y)
    rates = warm.net_.optimizer_.param_groups
    assert any(g["lr"] < 0.02 or 0.02 < g["lr"] < 0.05 for g in rates)  # reduced first
    warm.set_params(max_epochs=30).fit(X, y)
    assert warm.history_[:, "event_lr"] == once.history_[:, "event_lr"]
    assert ([g["lr"] for g in warm.net_.optimizer_.param_groups]
            == [g["lr"] for g in once.net_.optimizer_.param_groups])
    assert _weights_equal(once, warm)


def test_event_lr_records_the_rate_a_warm_start_trains_with():
    X, y, clf = _stalling_fit(max_epochs=2, warm_start=True)
    clf.fit(X, y).set_params(lr=0.01, max_epochs=1).fit(X, y)
    assert clf.history_[:, "event_lr"] == pytest.approx([0.05, 0.05, 0.01])


def test_constant_schedule_and_a_users_scheduler_replace_the_plateau():
    X, y, clf = _stalling_fit(max_epochs=60, lr_schedule="constant")
    clf.fit(X, y)
    assert "lr_plateau" not in dict(clf.net_.callbacks_)
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 0.05
    own = [LRScheduler("StepLR", step_size=1, gamma=0.5)]
    *_, users = _stalling_fit(max_epochs=3, callbacks=own)
    users.fit(X, y)
    assert "lr_plateau" not in dict(users.net_.callbacks_)
    assert users.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5 ** 3)


def test_plateau_floors_follow_each_groups_rate_and_a_warm_start_lr():
    X, y, clf = _stalling_fit(max_epochs=2, trunk_lr=0.02, warm_start=True)
    clf.fit(X, y)
    scheduler = clf.net_.callbacks_[[n for n, _ in clf.net_.callbacks_].index(
        "lr_plateau")][1].lr_scheduler_
    rates = sorted(g["lr"] for g in clf.net_.optimizer_.param_groups)
    assert sorted(scheduler.min_lrs) == pytest.approx([0.1 * r for r in rates])
    assert rates == pytest.approx([0.02, 0.05])
    clf.set_params(lr=0.5, trunk_lr=0.2, max_epochs=1).fit(X, y)
    scheduler = dict(clf.net_.callbacks_)["lr_plateau"].lr_scheduler_
    assert sorted(scheduler.min_lrs) == pytest.approx([0.02, 0.05])


def test_fused_adam_steps_aside_for_settings_it_cannot_take():
    X, y, clf = _stalling_fit(max_epochs=1, optimizer_kwargs={"differentiable": True})
    # torch's fused Adam refuses differentiable=True: the plain one is chosen
    assert "fused" not in clf._engine_config().optimizer_settings()[1]
    *_, default = _stalling_fit(max_epochs=1)
    assert (bool(default.fit(X, y).net_.optimizer_.defaults.get("fused"))
            == fused_supported(torch.optim.Adam, "cpu"))
    *_, both = _stalling_fit(max_epochs=1, optimizer_kwargs={"fused": True, "foreach": True})
    with pytest.raises(ValueError, match="optimizer Adam rejected its settings"):
        both.fit(X, y)


def test_a_callback_may_not_take_a_name_the_estimator_uses():
    X, y, clf = _stalling_fit(max_epochs=1, callbacks=[("lr_plateau", Callback())])
    with pytest.raises(ValueError, match="named 'lr_plateau', a name the estimator gives"):
        clf.fit(X, y)


@pytest.mark.parametrize("params", [{}, {"trunk_lr": 0.02}])
def test_plateau_schedule_resumes_exactly_after_pickling(params):
    import pickle

    X, y, once = _stalling_fit(max_epochs=90, **params)
    once.fit(X, y)
    *_, warm = _stalling_fit(max_epochs=60, warm_start=True, **params)
    blob = pickle.dumps(warm.fit(X, y))
    # the scheduler's optimizer is not pickled twice (skorch saves it once)
    constant = pickle.dumps(_stalling_fit(max_epochs=60, lr_schedule="constant",
                                          **params)[2].fit(X, y))
    assert len(blob) < 1.2 * len(constant)
    restored = pickle.loads(blob).set_params(max_epochs=30).fit(X, y)
    assert restored.history_[:, "event_lr"] == once.history_[:, "event_lr"]
    assert _weights_equal(once, restored)
