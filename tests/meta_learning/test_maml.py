"""MAMLRegressor, MAMLClassifier, their adapted models and evaluate_adaptation."""

import gc
import pickle
import re
import threading

import numpy as np
import pytest
import sklearn
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from skorch.callbacks import Callback

from sklearn_mlarch import (CNNClassifier, FeedForwardClassifier, FeedForwardRegressor,
                            MAMLClassifier, MAMLRegressor, MultiTaskRegressor, RNNClassifier,
                            TorchModuleRegressor)
from sklearn_mlarch._training.meta import InnerLoop, MAMLModule
from sklearn_mlarch.datasets import SinusoidTasks, split_classes
from sklearn_mlarch.meta_learning import (AdaptedClassifier, AdaptedRegressor,
                                          evaluate_adaptation)
from sklearn_mlarch.networks import MLPNetwork
from sklearn_mlarch.utils._testing import fast_instance


@pytest.fixture(scope="module")
def sinusoids():
    return SinusoidTasks().make_tasks(n_tasks=40, n_points=20, random_state=0)


@pytest.fixture(scope="module")
def few_shot_digits():
    X, y = load_digits(return_X_y=True)
    return split_classes(X / 16, y, test_classes=[5, 6, 7, 8, 9])


def _fast(cls, **params):
    """``fast_instance(cls)`` with ``params``; ``estimator__*`` set on the wrapped estimator."""
    nested = {k: params.pop(k) for k in list(params) if k.startswith("estimator__")}
    return fast_instance(cls, **params).set_params(**nested)


# the paper's network and K=10, with a short, fast meta-training
LEARNING = dict(estimator__hidden_sizes=(40, 40), k_shot=10, n_query=10, n_meta_iter=300)


@pytest.fixture(scope="module")
def meta_regressor():
    return _fast(MAMLRegressor, **LEARNING).fit(SinusoidTasks())


def _params(est):
    return [p.detach().clone() for p in est.net_.module_.network.parameters()]


# ------------------------------------------------------------------ inner loop
def _hand_written_meta_grad(net, Xs, ys, Xq, yq, lr, first_order):
    """MAML's meta-gradient with plain autograd (create_graph), one task at a time."""
    params = list(net.parameters())
    total = 0
    for t in range(len(Xs)):
        loss = ((torch.func.functional_call(net, dict(zip(
            [n for n, _ in net.named_parameters()], params)), (Xs[t],)) - ys[t]) ** 2).mean()
        grads = torch.autograd.grad(loss, params, create_graph=not first_order)
        adapted = [p - lr * g for p, g in zip(params, grads)]
        out = torch.func.functional_call(net, dict(zip(
            [n for n, _ in net.named_parameters()], adapted)), (Xq[t],))
        total = total + ((out - yq[t]) ** 2).mean()
    return torch.autograd.grad(total / len(Xs), params)


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("vectorised", [True, False])
def test_meta_gradient_matches_hand_written_maml(first_order, vectorised):
    torch.manual_seed(0)
    net = MLPNetwork(1, 1, hidden_sizes=(8,)).double()
    Xs, ys, Xq, yq = (torch.randn(3, 5, 1, dtype=torch.float64) for _ in range(4))
    expected = _hand_written_meta_grad(net, Xs, ys, Xq, yq, 0.1, first_order)
    module = MAMLModule(net, "squared_error", inner_lr=0.1, inner_steps=1,
                        first_order=first_order)
    module.vectorised = vectorised
    out = module(Xs, ys, Xq)
    loss = ((out - yq.reshape(out.shape)) ** 2).mean()
    got = torch.autograd.grad(loss, list(net.parameters()))
    for a, b in zip(got, expected):
        assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_second_order_terms_change_the_meta_gradient():
    torch.manual_seed(0)
    net = MLPNetwork(1, 1, hidden_sizes=(8,)).double()
    batch = [torch.randn(3, 5, 1, dtype=torch.float64) for _ in range(4)]
    grads = []
    for first_order in (False, True):
        out = MAMLModule(net, "squared_error", 0.5, 1, first_order)(*batch[:3])
        loss = ((out - batch[3].reshape(out.shape)) ** 2).mean()
        grads.append(torch.autograd.grad(loss, list(net.parameters()))[0])
    assert not torch.allclose(grads[0], grads[1])


def test_dropout_which_makes_inner_steps_random_is_refused():
    layer, match = torch.nn.Dropout(0.5), "dropout"
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), layer, torch.nn.Linear(8, 1))
    with pytest.raises(ValueError, match=match):
        MAMLModule(net, "squared_error", 0.1, 1)
    with pytest.raises(ValueError, match=match):
        MAMLRegressor(TorchModuleRegressor(torch.nn.Sequential(torch.nn.Linear(1, 8), layer),
                                           input_shape=(1,)),
                      n_meta_iter=2).fit(SinusoidTasks())


@pytest.mark.parametrize("first_order", [False, True])
def test_batch_norm_normalises_each_task_with_its_own_statistics(first_order):
    # vectorised over tasks, each task's rows are normalised on their own:
    # the meta-batch's output equals the tasks adapted one at a time, and a
    # task's output does not depend on the other tasks of the batch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8),
                              torch.nn.ReLU(), torch.nn.Linear(8, 1))
    module = MAMLModule(net, "squared_error", 0.1, 2, first_order)
    assert net[1].running_mean is None  # no statistics carried between tasks
    Xs, ys, Xq = torch.randn(3, 6, 2), torch.randn(3, 6, 1), torch.randn(3, 4, 2)
    Xs[1] *= 10  # a task on another scale
    together = module(Xs, ys, Xq)
    module.vectorised = False
    alone = torch.cat([module(Xs[i:i + 1], ys[i:i + 1], Xq[i:i + 1]) for i in range(3)])
    assert_allclose(together.detach(), alone.detach(), rtol=1e-5, atol=1e-6)
    assert module.vectorised is False  # and it was vectorised before (no fallback taken)


# ------------------------------------------------------------------ learning
def test_adaptation_improves_on_new_sinusoids(meta_regressor):
    res = evaluate_adaptation(meta_regressor, SinusoidTasks(), steps=[0, 1, 10], n_tasks=100,
                              random_state=1)
    assert res["metric"] == "mse" and res["scores"].shape == (100, 3)
    assert res["mean"][2] < res["mean"][1] < 0.8 * res["mean"][0]
    assert np.all(res["ci95"] > 0)


def test_meta_training_beats_an_untrained_initialisation():
    tasks = SinusoidTasks()
    untrained = _fast(MAMLRegressor, **{**LEARNING, "n_meta_iter": 1},
                      estimator__lr=1e-9).fit(tasks)
    trained = _fast(MAMLRegressor, **LEARNING).fit(tasks)
    scores = [evaluate_adaptation(m, tasks, steps=5, n_tasks=100, random_state=1)["mean"][0]
              for m in (untrained, trained)]
    assert scores[1] < 0.7 * scores[0]


def test_groups_path_learns_tasks_given_as_rows(sinusoids):
    X, y, groups = sinusoids
    maml = _fast(MAMLRegressor, **{**LEARNING, "n_meta_iter": 200}).fit(
        X, y, groups=groups)
    assert maml.n_meta_iter_ == 200 and maml.n_iter_ == 2
    X_new, y_new, g_new = SinusoidTasks().make_tasks(30, 20, random_state=5)
    res = evaluate_adaptation(maml, X_new, y_new, groups=g_new, steps=[0, 5], random_state=0)
    assert res["scores"].shape == (30, 2) and res["mean"][1] < res["mean"][0]


def test_classifier_adapts_to_unseen_classes(few_shot_digits):
    X_train, X_test, y_train, y_test = few_shot_digits
    clf = _fast(MAMLClassifier, n_way=5, k_shot=1, n_meta_iter=200,
                estimator__hidden_sizes=(32,)).fit(X_train, y_train)
    res = evaluate_adaptation(clf, X_test, y_test, steps=[1, 5], n_tasks=100, random_state=0)
    assert res["metric"] == "accuracy"
    assert res["mean"][1] > 0.35  # chance is 0.2 on classes never seen in meta-training


@pytest.mark.parametrize("network, shape", [("cnn", (1, 8, 8)), ("rnn", (8, 8))])
def test_convolutional_and_recurrent_networks(few_shot_digits, network, shape):
    X_train, X_test, y_train, y_test = few_shot_digits
    base = (CNNClassifier(shape, channels=(4,), batch_norm=False, dropout=0.0)
            if network == "cnn" else RNNClassifier(shape, hidden_size=8))
    clf = MAMLClassifier(base, n_way=3, k_shot=1, n_query=2, meta_batch_size=2,
                         n_meta_iter=3, random_state=0).fit(X_train, y_train)
    three = np.isin(y_test, [5, 6, 7])
    model = clf.adapt(X_test[three][:30], y_test[three][:30])
    assert set(model.predict(X_test[:10])) <= {5, 6, 7}


@pytest.mark.parametrize("params, fix", [
    # the CNN's default dropout=None means 0.25 for images
    (dict(batch_norm=False), r"CNNClassifier\(dropout=None\).*dropout.*"
                             r"Pass CNNClassifier\(dropout=0.0\)"),
    (dict(batch_norm=False, dropout=0.0, early_stopping=True),
     r"CNNClassifier\(early_stopping=True\).*Pass CNNClassifier\(early_stopping=False\)"),
    (dict(batch_norm=False, dropout=0.0, class_weight="balanced"),
     r"CNNClassifier\(class_weight='balanced'\).*Pass CNNClassifier\(class_weight=None\)"),
])
def test_settings_that_mix_tasks_or_add_noise_are_refused_on_the_wrapped_cnn(
        few_shot_digits, params, fix):
    X_train, _, y_train, _ = few_shot_digits
    maml = MAMLClassifier(CNNClassifier((1, 8, 8), channels=(4,), **params), n_way=3, k_shot=1,
                          n_meta_iter=2, random_state=0)
    with pytest.raises(ValueError, match=fix):
        maml.fit(X_train, y_train)
    assert not hasattr(maml, "net_")


def test_recurrent_network_reads_digits_as_series(few_shot_digits):
    # the RNN reads (n, C, L): each digit as 8 channels of 8 steps
    X_train, X_test, y_train, y_test = few_shot_digits
    X_train, X_test = X_train.reshape(-1, 8, 8), X_test.reshape(-1, 8, 8)
    clf = MAMLClassifier(RNNClassifier(hidden_size=8, lr=1e-2), n_way=3, k_shot=1,
                         n_query=2, meta_batch_size=4, n_meta_iter=20,
                         random_state=0).fit(X_train, y_train)
    assert tuple(clf.input_shape_) == (8, 8) and clf.n_meta_iter_ == 20
    three = np.isin(y_test, [5, 6, 7])
    model = clf.adapt(X_test[three][:15], y_test[three][:15], steps=5)
    assert isinstance(model, AdaptedClassifier) and model.n_steps_ == 5
    assert_array_equal(model.classes_, [5, 6, 7])
    proba = model.predict_proba(X_test[three])
    assert proba.shape == (three.sum(), 3) and np.isfinite(proba).all()
    assert set(model.predict(X_test[three])) <= {5, 6, 7}
    # the steps change the network: the adapted model differs from the initialisation
    unadapted = clf.adapt(X_test[three][:15], y_test[three][:15], steps=0)
    assert not np.allclose(unadapted.predict_proba(X_test[three]), proba)


# ------------------------------------------------------------------ adapted models
def test_adapt_returns_an_ordinary_fitted_regressor(meta_regressor, sinusoids):
    X, y, groups = sinusoids
    task = groups == 3
    model = meta_regressor.adapt(X[task][:10], y[task][:10], steps=10)
    assert isinstance(model, AdaptedRegressor) and model.n_steps_ == 10
    assert model.predict(X[task]).shape == (task.sum(),)
    assert model.score(X[task][10:], y[task][10:]) > meta_regressor.adapt(
        X[task][:10], y[task][:10], steps=0).score(X[task][10:], y[task][10:])
    # cloning keeps the fitted meta-learner: cross-validation adapts on each fold
    cloned = clone(model).meta_estimator  # a shallow copy sharing the fitted network
    assert cloned is not meta_regressor and cloned.net_ is meta_regressor.net_
    assert len(cross_val_score(model, X[task], y[task], cv=2)) == 2


def test_adapted_classifier_takes_any_labels(few_shot_digits):
    X_train, X_test, y_train, y_test = few_shot_digits
    clf = _fast(MAMLClassifier, n_way=3).fit(X_train, y_train)
    names = np.array(["five", "six", "seven", "eight", "nine"])[y_test - 5]
    keep = np.isin(y_test, [5, 6, 7])
    model = clf.adapt(X_test[keep][:15], names[keep][:15])
    assert isinstance(model, AdaptedClassifier)
    assert_array_equal(model.classes_, np.unique(names[keep][:15]))
    proba = model.predict_proba(X_test[keep])
    assert proba.shape == (keep.sum(), 3)
    assert_allclose(proba.sum(1), 1)
    assert set(model.predict(X_test[keep])) <= set(model.classes_)
    # a shared head (the default) adapts to more classes than the episodes had
    five = clf.adapt(X_test[:40], names[:40])
    assert five.predict_proba(X_test[:7]).shape == (7, 5)
    assert set(five.predict(X_test)) <= set(names)
    one_row_per_class = clone(clf).set_params(shared_head=False).fit(X_train, y_train)
    with pytest.raises(ValueError, match="at most 3 classes.*shared_head=True"):
        one_row_per_class.adapt(X_test[:40], names[:40])


def test_adaptation_keeps_no_graph_and_memory_stays_flat(meta_regressor, sinusoids):
    X, y, _ = sinusoids
    model = meta_regressor.adapt(X[:10], y[:10], steps=5)
    assert all(p.grad_fn is None and not p.requires_grad for p in model.params_.values())

    def live_tensors():
        gc.collect()
        return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))

    meta_regressor.adapt(X[:10], y[:10], steps=5).predict(X)
    before = live_tensors()
    for i in range(50):
        meta_regressor.adapt(X[i:i + 10], y[i:i + 10], steps=5).predict(X)
    assert live_tensors() <= before


def test_meta_estimator_predicts_as_adapted_to_its_training_data(few_shot_digits):
    X_train, _, y_train, _ = few_shot_digits
    clf = _fast(MAMLClassifier, n_way=5, n_meta_iter=200).fit(X_train, y_train)
    assert_array_equal(clf.classes_, [0, 1, 2, 3, 4])
    assert_array_equal(clf.predict(X_train), clf.training_task_.predict(X_train))
    assert clf.score(X_train, y_train) > 0.8
    fewer = _fast(MAMLClassifier, n_way=3).fit(X_train, y_train)
    with pytest.raises(ValueError, match="more than its n_way=3 outputs.*adapt"):
        fewer.predict(X_train)


def test_task_family_model_must_adapt_before_predicting(meta_regressor, sinusoids):
    with pytest.raises(ValueError, match="task family.*adapt"):
        meta_regressor.predict(sinusoids[0])


# ------------------------------------------------------------------ fit contract
def test_same_seed_same_model_also_in_a_thread(sinusoids):
    X, y, groups = sinusoids
    a = fast_instance(MAMLRegressor).fit(X, y, groups=groups)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "m", fast_instance(MAMLRegressor).fit(X, y, groups=groups)))
    thread.start()
    thread.join()
    for p, q in zip(_params(a), _params(result["m"])):
        assert torch.equal(p, q)
    c = fast_instance(MAMLRegressor, random_state=1).fit(X, y, groups=groups)
    assert not torch.equal(_params(a)[0], _params(c)[0])


@pytest.mark.parametrize("first_order", [False, True])
def test_continued_meta_training_equals_one_long_fit(first_order):
    tasks = SinusoidTasks()
    long = _fast(MAMLRegressor, n_meta_iter=300, first_order=first_order).fit(tasks)
    resumed = _fast(MAMLRegressor, n_meta_iter=150, first_order=first_order,
                    estimator__warm_start=True)
    resumed.fit(tasks).fit(tasks)
    assert resumed.n_meta_iter_ == 300
    for p, q in zip(_params(long), _params(resumed)):
        assert torch.equal(p, q)


def test_warm_start_refuses_a_changed_inner_loop():
    maml = _fast(MAMLRegressor, n_meta_iter=5, estimator__warm_start=True).fit(SinusoidTasks())
    maml.set_params(k_shot=3, n_query=2).fit(SinusoidTasks())  # task sizes may change
    assert maml.n_meta_iter_ == 10
    with pytest.raises(ValueError, match="inner_lr"):
        maml.set_params(inner_lr=0.5).fit(SinusoidTasks())


class _FailAtSecondEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise RuntimeError("callback failed")


def test_failed_fit_leaves_the_estimator_as_it_was(sinusoids):
    X, y, groups = sinusoids
    maml = fast_instance(MAMLRegressor, n_meta_iter=150).fit(X, y, groups=groups)
    before = _params(maml)
    state = dict(maml.__dict__)
    maml.set_params(estimator__callbacks=[_FailAtSecondEpoch()])
    with pytest.raises(RuntimeError, match="callback failed"):
        maml.fit(X, y, groups=groups)
    assert maml.net_ is state["net_"] and maml.n_meta_iter_ == 150
    for p, q in zip(before, _params(maml)):
        assert torch.equal(p, q)
    fresh = _fast(MAMLRegressor, n_meta_iter=150, estimator__callbacks=[_FailAtSecondEpoch()])
    with pytest.raises(RuntimeError):
        fresh.fit(X, y, groups=groups)
    assert not hasattr(fresh, "net_")


def test_pickle_round_trip(meta_regressor, sinusoids):
    X, y, _ = sinusoids
    loaded = pickle.loads(pickle.dumps(meta_regressor))
    assert_allclose(loaded.adapt(X[:10], y[:10]).predict(X),
                    meta_regressor.adapt(X[:10], y[:10]).predict(X))


def test_verbose_prints_the_meta_loss(capsys):
    _fast(MAMLRegressor, n_meta_iter=200, estimator__verbose=1).fit(SinusoidTasks())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("train loss" in line for line in lines)  # one per 100


def test_grid_search_routes_groups_to_fit(sinusoids):
    X, y, groups = sinusoids
    with sklearn.config_context(enable_metadata_routing=True):
        maml = fast_instance(MAMLRegressor, n_meta_iter=50).set_fit_request(groups=True)
        search = GridSearchCV(maml, {"inner_lr": [0.01, 0.05]}, cv=GroupKFold(2))
        search.fit(X, y, groups=groups)
    assert search.best_params_["inner_lr"] in (0.01, 0.05)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.n_tasks_ == len(np.unique(groups))


def test_searching_an_adapted_model_leaves_the_meta_learner_alone(meta_regressor,
                                                                  sinusoids):
    X, y, groups = sinusoids
    task = groups == 2
    model = meta_regressor.adapt(X[task][:10], y[task][:10])
    search = GridSearchCV(model, {"meta_estimator__inner_lr": [1e-3, 0.05]}, cv=2)
    search.fit(X[task], y[task])
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] != scores[1]  # the adaptation step size takes effect
    assert meta_regressor.inner_lr == 0.01  # the user's meta-learner is unchanged


def test_an_adapted_model_survives_refitting_its_meta_learner(sinusoids):
    X, y, groups = sinusoids
    meta = fast_instance(MAMLRegressor, n_meta_iter=20).fit(X, y, groups=groups)
    model = meta.adapt(X[:10], y[:10])
    before = model.predict(X)
    meta.set_params(estimator__hidden_sizes=(8, 8)).fit(X, y, groups=groups)
    assert_array_equal(model.predict(X), before)


def test_init_from_a_fitted_estimator_copies_the_trunk(sinusoids):
    X, y, _ = sinusoids
    source = MultiTaskRegressor(FeedForwardRegressor(hidden_sizes=(16,), max_epochs=2),
                                random_state=0).fit(X, y)
    maml = _fast(MAMLRegressor, n_meta_iter=1, estimator__lr=1e-12,
                 estimator__init_from=source).fit(X, y)
    got = maml.net_.module_.network.trunk.dense0[0].weight.detach()
    expected = source.net_.module_.trunk.dense0[0].weight.detach()
    assert_allclose(got.numpy(), expected.numpy(), atol=1e-9)


# ------------------------------------------------------------------ bad input
def test_bad_input_gets_clear_errors(sinusoids, few_shot_digits):
    X, y, groups = sinusoids
    small = np.r_[groups[:-15], np.full(15, 99)]
    small[-15:-3] = 0  # group 99 keeps 3 rows, below k_shot + 1
    with pytest.raises(ValueError, match="group 99 has 3 rows.*k_shot=5"):
        fast_instance(MAMLRegressor).fit(X, y, groups=small)
    # one task (no groups): support sets take all rows but one
    assert fast_instance(MAMLRegressor, n_meta_iter=2, k_shot=10).fit(X[:6], y[:6]).n_tasks_ == 1
    with pytest.raises(ValueError, match="without y or groups"):
        fast_instance(MAMLRegressor).fit(SinusoidTasks(), y)
    with pytest.raises(ValueError, match="requires y"):
        fast_instance(MAMLRegressor).fit(X)
    X_train, _, y_train, _ = few_shot_digits
    with pytest.raises(ValueError, match="n_way=7 but y has 5 classes"):
        fast_instance(MAMLClassifier, n_way=7).fit(X_train, y_train)
    few = (y_train != 4) | (np.cumsum(y_train == 4) <= 3)  # class 4 keeps 3 rows
    with pytest.warns(UserWarning, match="class 4 has only 3 rows.*k_shot <= 2"):
        fast_instance(MAMLClassifier, k_shot=5, n_meta_iter=2).fit(X_train[few], y_train[few])
    with pytest.raises(ValueError, match="class 4 has 1 rows"):
        keep = (y_train != 4) | (np.cumsum(y_train == 4) == 1)
        fast_instance(MAMLClassifier).fit(X_train[keep], y_train[keep])
    # the network is the wrapped estimator's: one of the wrong kind is refused
    with pytest.raises(ValueError, match=r"wraps a regressor.*Pass FeedForwardRegressor"):
        MAMLRegressor(FeedForwardClassifier(), n_meta_iter=2).fit(X, y)
    maml = fast_instance(MAMLRegressor, n_meta_iter=2).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="features"):
        maml.adapt(np.c_[X, X][:10], y[:10])


def test_inner_loop_adapts_a_linear_model_exactly():
    net = torch.nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        net.weight.fill_(0.0)
    X = torch.ones(4, 1, dtype=torch.float64)
    y = 2 * torch.ones(4, 1, dtype=torch.float64)
    params = InnerLoop(net, "squared_error", lr=0.25).adapt(
        dict(net.named_parameters()), {}, X, y, steps=1)
    # d/dw mean((w - 2)^2) at w=0 is -4; one step of 0.25 gives w = 1
    assert params["weight"].item() == pytest.approx(1.0)


class _NumpyFamily:
    """A task family returning numpy arrays; ``shape`` picks a broken variant."""

    def __init__(self, broken=None):
        self.broken = broken

    def sample(self, n_tasks, n_points, generator):
        X, y = SinusoidTasks().sample(n_tasks, n_points, generator)
        if self.broken == "2d y":
            y = y[..., 0]
        if self.broken == "nan":
            y = y * float("nan")
        return X.numpy(), y.numpy()


def test_task_families_are_checked(sinusoids):
    maml = fast_instance(MAMLRegressor, n_meta_iter=5).fit(_NumpyFamily())  # numpy is fine
    assert maml.n_meta_iter_ == 5
    with pytest.raises(ValueError, match=r"must return X of shape .* and y of shape"):
        fast_instance(MAMLRegressor, n_meta_iter=5).fit(_NumpyFamily("2d y"))
    with pytest.raises(ValueError, match="NaN or infinite"):
        fast_instance(MAMLRegressor, n_meta_iter=5).fit(_NumpyFamily("nan"))


@pytest.mark.parametrize("layer", [torch.nn.AlphaDropout(0.5), torch.nn.Dropout1d(0.5)])
def test_every_dropout_kind_is_refused(layer):
    with pytest.raises(ValueError, match="dropout"):
        MAMLModule(torch.nn.Sequential(torch.nn.Linear(1, 4), layer), "squared_error", 0.1, 1)


def test_adaptation_edge_cases(meta_regressor, sinusoids):
    X, y, _ = sinusoids
    assert meta_regressor.adapt(X[:1], y[:1]).predict(X[:3]).shape == (3,)  # one shot
    with pytest.raises(ValueError, match="Adaptation diverged.*inner_lr"):
        meta_regressor.adapt(X[:5], y[:5] * 1e6, steps=50)
    with pytest.raises(ValueError, match="steps must be"):
        meta_regressor.adapt(X[:5], y[:5], steps=True)
    with pytest.raises(ValueError, match="could not build its network"):
        MAMLRegressor(TorchModuleRegressor(torch.nn.Linear(3, 8), input_shape=(1,)),
                      n_meta_iter=2).fit(X, y)


def test_evaluate_adaptation_checks_its_arguments(meta_regressor, sinusoids, few_shot_digits):
    X, y, groups = sinusoids
    for kwargs, match in [(dict(k_shot=0), "k_shot must be"), (dict(n_query=0), "n_query"),
                          (dict(n_tasks=1), "n_tasks"), (dict(steps=[-1]), "steps")]:
        with pytest.raises(ValueError, match=match):
            evaluate_adaptation(meta_regressor, SinusoidTasks(), **kwargs)
    with pytest.raises(ValueError, match="finite|NaN"):
        evaluate_adaptation(meta_regressor, X, np.where(groups == 0, np.nan, y), groups=groups)
    X_train, X_test, y_train, y_test = few_shot_digits
    clf = fast_instance(MAMLClassifier, n_way=3, n_meta_iter=2, shared_head=False)
    clf.fit(X_train, y_train)
    with pytest.raises(ValueError, match="n_way must be an int from 2"):
        evaluate_adaptation(clf, X_test, y_test, n_way=4)
    with pytest.raises(ValueError, match="n_way must be an int >= 2"):
        evaluate_adaptation(clone(clf).set_params(shared_head=True).fit(X_train, y_train),
                            X_test, y_test, n_way=1)
    with pytest.raises(ValueError, match="not a task family"):
        evaluate_adaptation(clf, SinusoidTasks())


def test_verbose_prints_a_line_per_100_meta_iterations(capsys):
    maml = _fast(MAMLRegressor, n_meta_iter=150, estimator__verbose=1, random_state=0)
    maml.fit(SinusoidTasks())
    lines = capsys.readouterr().out.splitlines()
    progress = r"meta-iteration +(\d+)/150  elapsed \d+\.\ds  eta \d+\.\ds  train loss \d"
    assert [re.match(progress, line).group(1) for line in lines] == ["100", "150"]
    assert maml.history_[:, "meta_iter"] == [100, 150]
    maml.set_params(estimator__warm_start=True, n_meta_iter=30).fit(SinusoidTasks())
    assert maml.history_[-1, "meta_iter"] == 180
    # the warm start's progress, and where the history stands
    assert capsys.readouterr().out.startswith("meta-iteration 30/30 (180 in all)  elapsed ")
    fast_instance(MAMLRegressor, n_meta_iter=20).fit(SinusoidTasks())
    assert capsys.readouterr().out == ""  # quiet by default
