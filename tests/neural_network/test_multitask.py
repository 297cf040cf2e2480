import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mlarch import (CNNClassifier, CNNRegressor, FeedForwardClassifier,
                            FeedForwardRegressor, MultiTaskClassifier, MultiTaskRegressor,
                            RNNClassifier, TorchModuleClassifier)
from sklearn_mlarch._training import MultiTaskObjective, CrossEntropyObjective, SquaredErrorObjective
from sklearn_mlarch.neural_network import make_task_scorer
from sklearn_mlarch.utils._testing import FAST_PARAMS

_META = {"task_weights", "regression_tasks", "missing_label", "random_state"}


def _split(kw, base):
    meta = {k: v for k, v in kw.items() if k in _META}
    est = {k: v for k, v in kw.items() if k not in _META}
    return meta, base(**{**FAST_PARAMS[base.__name__], **est})


@pytest.fixture(scope="module")
def tasks(digits):
    X, d = digits
    return X.reshape(-1, 1, 8, 8), np.c_[d, d % 2, d >= 5]


def _clf(base=CNNClassifier, **kw):
    meta, est = _split({"max_epochs": 15, **kw}, base)
    return MultiTaskClassifier(est, **{"random_state": 0, **meta})


def _reg(base=CNNRegressor, **kw):
    meta, est = _split(kw, base)
    return MultiTaskRegressor(est, **{"random_state": 0, **meta})


def test_predict_follows_multi_output_conventions(tasks):
    X, Y = tasks
    labels = pd.DataFrame({"digit": Y[:, 0], "parity": np.array(["even", "odd"])[Y[:, 1]],
                           "big": Y[:, 2].astype(bool)})
    clf = _clf().fit(X, labels)
    pred = clf.predict(X)
    assert pred.shape == (len(X), 3) and pred.dtype == object  # mixed label types
    assert list(clf.task_names_) == ["digit", "parity", "big"]
    assert [len(c) for c in clf.classes_] == [10, 2, 2]
    assert set(pred[:, 1]) <= {"even", "odd"}
    proba = clf.predict_proba(X)
    assert [p.shape for p in proba] == [(len(X), 10), (len(X), 2), (len(X), 2)]
    assert_array_equal(clf.classes_[1][proba[1].argmax(1)], pred[:, 1])
    scores = clf.score_tasks(X, labels)
    assert scores.shape == (3,) and scores.min() > 0.8
    assert clf.score(X, labels) <= scores.min()  # subset accuracy


def test_one_dimensional_y_is_a_single_task_classifier(tasks):
    X, Y = tasks
    clf = _clf().fit(X, Y[:, 0])
    assert clf.predict(X).shape == (len(X),) and clf.classes_.shape == (10,)
    assert clf.predict_proba(X).shape == (len(X), 10)


def test_missing_label_leaves_out_only_that_task(tasks):
    X, Y = tasks
    Ym = Y.astype(float)
    Ym[:150, 0] = np.nan  # digit unknown for half the samples
    clf = _clf(random_state=1).fit(X, Ym)
    assert clf.score_tasks(X[150:], Y[150:])[0] > 0.7  # learned from the labelled half
    # the unlabelled rows still train the other tasks: parity on them is learned
    only = _clf(random_state=1).fit(X[150:], Ym[150:])
    assert clf.score_tasks(X[:150], Y[:150])[1] >= only.score_tasks(X[:150], Y[:150])[1] - 0.05


def test_a_task_without_labels_in_a_batch_adds_zero_not_nan():
    objective = MultiTaskObjective([CrossEntropyObjective(), SquaredErrorObjective()])
    outputs = (torch.randn(4, 3), torch.randn(4, 1))
    y = torch.tensor([[np.nan, 0.5], [np.nan, 1.0], [np.nan, -1.0], [np.nan, 0.0]])
    losses = objective.task_losses(outputs, y)
    assert losses[0].item() == 0.0 and torch.isfinite(losses).all()


def test_integer_labels_with_a_missing_sentinel(tasks):
    X, Y = tasks
    Ym = Y.copy()
    Ym[::3, 1] = -1
    clf = _clf(missing_label=-1).fit(X, Ym)
    assert_array_equal(clf.classes_[1], [0, 1])
    assert clf.predict(X).dtype.kind == "i"


def test_mixed_classification_and_regression_tasks(tasks):
    X, Y = tasks
    target = np.c_[Y[:, 0], X.mean(axis=(1, 2, 3)) * 100]
    clf = _clf(regression_tasks=[1]).fit(X, target)
    assert clf.classes_[1] is None and clf.predict_proba(X)[1] is None
    pred = clf.predict(X)
    assert clf.score_tasks(X, target)[1] > 0.5  # R² of the regression task
    assert not np.array_equal(pred[:, 1], np.round(pred[:, 1]))


@pytest.mark.parametrize("weights", ["equal", [1.0, 0.5, 0.5], "uncertainty", "pcgrad"])
def test_task_weighting_methods_learn(tasks, weights):
    X, Y = tasks
    clf = _clf(task_weights=weights).fit(X, Y)
    assert clf.score_tasks(X, Y).min() > 0.8


def test_uncertainty_weights_are_learned(tasks):
    X, Y = tasks
    clf = _clf(task_weights="uncertainty").fit(X, Y)
    log_vars = clf.net_.criterion_.log_vars.detach()
    assert not torch.equal(log_vars, torch.zeros(3))


def test_pcgrad_projects_conflicting_gradients():
    objective = MultiTaskObjective([SquaredErrorObjective(), SquaredErrorObjective()], "pcgrad")
    module = torch.nn.ModuleDict({"trunk": torch.nn.Linear(1, 1, bias=False)})
    x = torch.ones(1, 1)
    out = module["trunk"](x)
    y = torch.tensor([[1.0, -1.0]])  # the two tasks pull the weight in opposite ways
    with torch.no_grad():
        module["trunk"].weight.fill_(0.0)
    out = module["trunk"](x)
    loss = objective((out, out), y)
    objective.backward(loss, module)
    # opposite gradients of equal size cancel under projection: both removed
    assert module["trunk"].weight.grad.abs().item() < 1e-6


def test_regressor_with_missing_targets_and_mean_r2():
    rng = np.random.RandomState(0)
    X = rng.rand(150, 6)
    Y = np.c_[X.sum(1) * 10, X[:, 0] - X[:, 1]]
    Ym = Y.copy()
    Ym[rng.rand(150) < 0.3, 1] = np.nan
    reg = _reg(FeedForwardRegressor, hidden_sizes=(32,), max_epochs=60).fit(X, Ym)
    r2 = reg.score_tasks(X, Y)
    assert r2.min() > 0.7 and reg.score(X, Y) == pytest.approx(r2.mean())


def test_user_module_as_trunk(tasks):
    X, Y = tasks
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU())
    clf = _clf(TorchModuleClassifier, module=trunk).fit(X, Y)
    assert clf.score_tasks(X, Y).min() > 0.8
    assert trunk[1].weight.grad is None  # the user's module is copied, not trained


def test_rnn_and_mlp_trunks(digits):
    X, d = digits
    Y = np.c_[d, d % 2]
    rnn = _clf(RNNClassifier, input_shape=(8, 8), hidden_size=16).fit(X, Y)
    mlp = _clf(FeedForwardClassifier, hidden_sizes=(32,)).fit(X, Y)
    assert {n.split(".")[1] for n, _ in rnn.net_.module_.named_parameters()
            if n.startswith("trunk")} == {"rnn"}
    assert rnn.score_tasks(X, Y).min() > 0.6 and mlp.score_tasks(X, Y).min() > 0.8


def test_pipeline_cross_val_and_grid_search_with_per_task_scorers(digits):
    X, d = digits
    Y = np.c_[d, d % 2]
    pipe = make_pipeline(StandardScaler(), _clf(input_shape=(1, 8, 8), max_epochs=5))
    scores = cross_val_score(pipe, X, Y, cv=KFold(2))
    assert scores.shape == (2,) and np.all(scores > 0.3)
    search = GridSearchCV(_clf(input_shape=(1, 8, 8), max_epochs=5),
                          {"task_weights": ["equal", [1.0, 2.0]]}, cv=2,
                          scoring={"digit": make_task_scorer(0), "parity": make_task_scorer(1)},
                          refit="parity").fit(X, Y)
    assert set(search.cv_results_) >= {"mean_test_digit", "mean_test_parity"}


def test_bad_input(tasks):
    X, Y = tasks
    with pytest.raises(ValueError, match="task1.*at least 2 classes"):
        _clf().fit(X, np.c_[Y[:, 0], np.zeros(len(Y))])
    with pytest.raises(ValueError, match="has no labels"):
        _clf().fit(X, np.c_[Y[:, 0], np.full(len(Y), np.nan)])
    with pytest.raises(ValueError, match=r"task_weights=\[1.0, 2.0\] must hold one.*\(3 tasks"):
        _clf(task_weights=[1.0, 2.0]).fit(X, Y)
    with pytest.raises(ValueError, match="regression_tasks"):
        _clf(regression_tasks=[7]).fit(X, Y)
    clf = _clf(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="y with 2 columns.*3 tasks"):
        clf.set_params(estimator__warm_start=True).fit(X, Y[:, :2])


def test_partial_fit_warm_start_and_exact_resumption(tasks):
    X, Y = tasks
    once = _clf(max_epochs=4, random_state=3).fit(X, Y)
    steps = _clf(random_state=3)
    for _ in range(4):
        steps.partial_fit(X, Y)
    state_a, state_b = once.net_.module_.state_dict(), steps.net_.module_.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_warm_start_with_changed_task_setup_raises(tasks):
    X, Y = tasks
    clf = _clf(max_epochs=1, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match="estimator__channels.*warm_start=False"):
        clone_ = _clf(max_epochs=1, warm_start=True).fit(X, Y)
        clone_.set_params(estimator__channels=(4,)).fit(X, Y)
    with pytest.raises(ValueError, match="task_weights.*warm_start=False"):
        clf.set_params(task_weights=[1.0, 0.0, 0.0]).fit(X, Y)


def test_epoch_scoring_and_frozen_pcgrad(tasks):
    from skorch.callbacks import EpochScoring

    X, Y = tasks
    clf = _clf(max_epochs=2, callbacks=[EpochScoring(
        lambda net, X, y: float((net.predict(X)[:, 1] == np.asarray(y)[:, 1]).mean()),
        on_train=True, name="parity_acc")]).fit(X, Y)
    assert 0 <= clf.history_[-1, "parity_acc"] <= 1
    frozen = _clf(max_epochs=2, task_weights="pcgrad", freeze="trunk").fit(X, Y)
    assert frozen.n_iter_ == 2


def test_pandas_na_and_bad_regression_targets(tasks):
    X, Y = tasks
    labels = pd.DataFrame({"digit": Y[:, 0], "parity": pd.array(
        np.where(Y[:, 1] == 1, "odd", "even"), dtype="string")})
    labels.loc[::4, "parity"] = pd.NA
    clf = _clf(max_epochs=2).fit(X, labels)
    assert list(clf.classes_[1]) == ["even", "odd"]
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match="cannot be standardised"):
        _reg(FeedForwardRegressor, max_epochs=1).fit(
            X.reshape(len(X), -1), np.c_[rng.rand(len(X)) * 1e-310, rng.rand(len(X))])
    with pytest.raises(ValueError, match="task_weights=.* must hold one finite weight"):
        _clf(task_weights=["a", "b", "c"]).fit(X, Y)


def test_sample_weights_keep_each_task_on_its_own_scale():
    # task 1 is labelled only on rows that all weigh 0.1: its loss must stay the
    # plain mean over them, as with duplicated rows, not shrink by 0.1
    rng = np.random.RandomState(0)
    X, Y = rng.rand(40, 4), rng.rand(40, 2)
    Y[:20, 1] = np.nan
    w = np.r_[np.full(20, 1.0), np.full(20, 0.1)]
    est = _reg(FeedForwardRegressor, max_epochs=1).fit(X, Y)
    sw = est.targets_.sample_weight(w, est.targets_.encode(Y), np.float32)
    assert sw.shape == (40, 2)
    assert np.allclose(sw[20:, 1], 1.0) and np.all(sw[:20, 1] == 0)
    assert sw[:, 0].mean() == pytest.approx(1.0, rel=1e-5)
    obj = MultiTaskObjective([SquaredErrorObjective(), SquaredErrorObjective()])
    outputs = (torch.zeros(40, 1), torch.zeros(40, 1))
    y = torch.as_tensor(np.nan_to_num(Y, nan=np.nan), dtype=torch.float32)
    weighted = obj.task_losses(outputs, y, torch.as_tensor(sw))
    plain = obj.task_losses(outputs, y)
    torch.testing.assert_close(weighted[1], plain[1])


def test_a_list_of_series_of_different_lengths_is_read_by_a_cnn_trunk():
    # the multi-task model reads whatever its base estimator reads
    rng = np.random.RandomState(0)
    X = [rng.randn(1, n) for n in rng.randint(20, 40, size=40)]
    Y = np.c_[[int(x.mean() > 0) for x in X], [x.shape[1] > 30 for x in X]]
    clf = _clf(max_epochs=2).fit(X, Y)
    assert clf.predict(X).shape == (40, 2)
    assert clf.predict([rng.randn(1, 80)]).shape == (1, 2)  # longer than any seen in fit


# ---------------------------------------------------------------- hostile-user findings
def test_task_scorer_on_a_pipeline_leaves_out_the_missing_label(tasks):
    X, Y = tasks
    Ym = Y.copy()
    Ym[::2, 0] = -1  # half the digits unknown
    pipe = make_pipeline(StandardScaler(), _clf(missing_label=-1, max_epochs=5))
    pipe.fit(X.reshape(len(X), -1), Ym)
    pred = pipe.predict(X.reshape(len(X), -1))
    keep = Ym[:, 0] != -1
    expected = float((pred[keep, 0] == Ym[keep, 0]).mean())
    from sklearn.metrics import accuracy_score
    assert make_task_scorer(0, accuracy_score)(pipe, X.reshape(len(X), -1), Ym) == expected
    assert make_task_scorer(0)(pipe, X.reshape(len(X), -1), Ym) == expected  # no AttributeError


def test_missing_label_applies_to_classification_tasks_only(tasks):
    X, Y = tasks
    target = np.c_[Y[:, 0], np.where(Y[:, 0] % 3 == 0, -1.0, X.mean(axis=(1, 2, 3)))]
    clf = _clf(missing_label=-1, regression_tasks=[1], max_epochs=3).fit(X, target)
    assert not clf.targets_.missing(target)[:, 1].any()  # -1.0 is a regression value
    from sklearn.metrics import r2_score
    assert clf.score_tasks(X, target)[1] == pytest.approx(
        r2_score(target[:, 1], clf.predict(X)[:, 1].astype(float)))


def test_y_columns_are_checked_on_every_call(tasks):
    X, Y = tasks
    labels = pd.DataFrame({"digit": Y[:, 0], "parity": Y[:, 1]})
    clf = _clf(max_epochs=1).fit(X, labels)
    swapped = labels[["parity", "digit"]]
    with pytest.raises(ValueError, match=r"columns \['parity', 'digit'\].*y\[model.task_names_\]"):
        clf.partial_fit(X, swapped)
    with pytest.raises(ValueError, match="columns"):
        clf.set_params(estimator__warm_start=True).fit(X, swapped)
    with pytest.raises(ValueError, match="columns"):
        clf.score_tasks(X, swapped)
    with pytest.raises(ValueError, match="3 columns.*2 tasks"):
        clf.score_tasks(X, labels.assign(extra=0))
    with pytest.raises(ValueError, match="1-D y.*2 tasks"):
        clf.score(X, Y[:, 0])
    assert clf.score_tasks(X, labels).shape == (2,)  # the fitted order is accepted


def test_transfer_between_multitask_models_copies_each_head_that_fits(tasks):
    X, Y = tasks
    source = _clf(max_epochs=2).fit(X, Y[:, :2])                       # digit, parity
    size = np.array(["small", "big"])[Y[:, 2]]  # two classes, not parity's 0 and 1
    new = pd.DataFrame({"digit": Y[:, 0], "size": size})
    target = _clf(max_epochs=1, lr=1e-12, init_from=source, freeze=["trunk", "heads.0"])
    target.fit(X, new)                                                # digit, size
    src, dst = source.net_.module_.state_dict(), target.net_.module_.state_dict()
    assert torch.equal(src["heads.0.weight"], dst["heads.0.weight"])  # same task, kept
    assert src["heads.1.weight"].shape == dst["heads.1.weight"].shape
    assert not torch.equal(src["heads.1.weight"], dst["heads.1.weight"])  # other classes
    with pytest.raises(ValueError, match=r"freezes \['heads.1'\].*randomly initialised"):
        _clf(max_epochs=1, init_from=source, freeze="heads.1").fit(X, new)


def test_nan_labels_work_with_integer_cv_in_model_selection(tasks):
    from sklearn.model_selection import cross_validate

    X, Y = tasks
    Ym = Y.astype(float)
    Ym[::3, 1] = np.nan
    X2 = X.reshape(len(X), -1)
    est = _clf(input_shape=(1, 8, 8), max_epochs=2)
    assert cross_val_score(est, X2, Ym, cv=2).shape == (2,)
    assert len(cross_validate(est, X2, Ym, cv=2)["test_score"]) == 2
    GridSearchCV(est, {"task_weights": ["equal"]}, cv=2).fit(X2, Ym)


def test_unclear_errors_are_clear(tasks):
    X, Y = tasks
    with pytest.raises(ValueError, match="classes has 1 entries, but y has 3 tasks"):
        _clf().partial_fit(X, Y, classes=[np.arange(10)])
    with pytest.raises(ValueError, match="task_weights=.*nothing trains"):
        _clf(task_weights=[0, 0, 0]).fit(X, Y)
    with pytest.raises(ValueError, match="regression_tasks holds True.*not booleans"):
        _clf(regression_tasks=[True]).fit(X, Y)
    with pytest.raises(ValueError, match="MultiTaskClassifier wraps a classifier, got "
                                         "CNNRegressor. Pass CNNClassifier"):
        MultiTaskClassifier(CNNRegressor()).fit(X, Y)


@pytest.mark.parametrize("check", ["check_classifiers_train", "check_classifiers_one_label",
                                   "check_classifiers_classes", "check_supervised_y_2d",
                                   "check_classifiers_regression_target"])
def test_classifier_checks_on_single_task_y(check):
    # MultiTaskClassifier is not tagged a scikit-learn classifier (so that model
    # selection does not stratify its task table); the classifier checks of 1-D
    # y run here explicitly
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("MultiTaskClassifier", _clf())


def test_missing_labels_with_series_longer_than_in_fit():
    # a warm fit on series longer than any seen before validates y as the
    # multi-task targets read it: NaN marks a missing label there too
    rng = np.random.RandomState(0)
    X = [rng.randn(1, n) for n in rng.randint(20, 30, size=40)]
    Y = np.c_[[float(x.mean() > 0) for x in X], [x.shape[1] > 25 for x in X]]
    Y[::4, 0] = np.nan
    clf = _clf(max_epochs=1, warm_start=True).fit(X, Y)
    longer = [rng.randn(1, 60) for _ in range(40)]
    clf.fit(longer, Y)
    assert clf.n_iter_ == 2 and clf.predict(longer).shape == (40, 2)
