"""Behaviour every neural estimator shares, checked on each one the package exports.

The estimators are discovered (``sklearn_mlarch.utils.all_estimators``: every
subclass of ``BaseNeuralEstimator``), so a new estimator is checked without
being listed here. Each is built with its fast test configuration
(``fast_instance``) and fitted on data of its kind: classes or values for the
base estimators and deep ensembles, a 2-D ``y`` of tasks for the multi-task
models, ``(X, y, groups)`` of sinusoid tasks for MAMLRegressor and few-shot
digits for MAMLClassifier.

Training settings live on the wrapped estimator of a meta-estimator, so they
are set as ``estimator__<name>`` there (:func:`_set_training`).

Checks, each on every discovered estimator:

0. an unfitted estimator clones with its parameters and refuses to predict;
1. the same seed gives the same model: refitted, fitted again, and fitted in
   two threads at once (with dropout where the estimator has it);
2. a fit that raises (a callback failing at epoch 2) leaves a fitted
   estimator exactly as it was: every attribute, weights, n_iter_, predictions;
3. pickling round-trips predictions;
4. save_model / load_model round-trips predictions (MAML included);
5. ``dtype='float64'`` set after fit: predict works, the network keeps its dtype;
6. ``freeze='*'`` is refused with a ValueError saying nothing would train
   (MAML refuses freeze altogether);
7. k epochs then m more with warm_start equal k + m epochs bit for bit, and
   so do k + m partial_fit calls (MAML: n_meta_iter meta-iterations).
"""

import pickle
import threading

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from sklearn_mlarch import load_model, save_model
from sklearn_mlarch.base import BaseNeuralEstimator
from sklearn_mlarch.datasets import SinusoidTasks, load_digits_images
from sklearn_mlarch.meta_learning._base_maml import _BaseMAML
from sklearn_mlarch.meta_learning._episodic import _BaseEpisodic
from sklearn_mlarch.utils import all_estimators
from sklearn_mlarch.utils._testing import fast_instance

NEURAL = [cls for _, cls in all_estimators() if issubclass(cls, BaseNeuralEstimator)]
IDS = [cls.__name__ for cls in NEURAL]


def test_discovery_finds_every_kind():
    names = set(IDS)
    assert {"CNNClassifier", "RNNRegressor", "FeedForwardClassifier", "TorchModuleRegressor",
            "DeepEnsembleClassifier", "MultiTaskClassifier", "MultiTaskRegressor",
            "MAMLClassifier", "MAMLRegressor", "PrototypicalClassifier"} <= names


# ------------------------------------------------------------------ data and settings
def _is_maml(cls):
    """MAML and prototypical networks: meta-learners trained on episodes."""
    return issubclass(cls, _BaseEpisodic)


def _wraps(est):
    """Whether training settings are the wrapped estimator's (estimator__...)."""
    return "estimator" in est.get_params(deep=False)


def _set_training(est, **params):
    """Set training settings where they live: on est, or on the estimator it wraps."""
    prefix = "estimator__" if _wraps(est) else ""
    return est.set_params(**{prefix + k: v for k, v in params.items()})


def _training_params(est):
    inner = est.get_params(deep=False)["estimator"] if _wraps(est) else est
    return inner.get_params(deep=False)


@pytest.fixture(scope="module")
def data():
    """Training data of each kind: ``{kind: (args, kwargs)}`` for ``fit(*args, **kwargs)``."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(40, 8) - 1.0, rng.randn(40, 8) + 1.0])
    y = np.repeat([0, 1], 40)
    Xs, ys, groups = SinusoidTasks().make_tasks(n_tasks=6, n_points=12, random_state=0)
    Xd, yd = load_digits_images(flat=True)
    few = yd < 4
    Xd, yd = Xd[few][:80], yd[few][:80]
    return {
        "classifier": ((X, np.array(["a", "b"])[y]), {}),
        "regressor": ((X, X[:, 0] - 2 * X[:, 1]), {}),
        "multitask_classifier": ((X, np.c_[y, X[:, 0] > 0]), {}),
        "multitask_regressor": ((X, np.c_[X[:, 0], X[:, 1] - X[:, 2]]), {}),
        "maml_regressor": ((Xs, ys), {"groups": groups}),
        "maml_classifier": ((Xd, yd), {}),
    }


def _kind(cls):
    name = cls.__name__
    classifier = name.endswith("Classifier")
    if _is_maml(cls):
        return "maml_classifier" if classifier else "maml_regressor"
    if name.startswith("MultiTask"):
        return "multitask_classifier" if classifier else "multitask_regressor"
    return "classifier" if classifier else "regressor"


def _fit(est, data):
    args, kwargs = data[_kind(type(est))]
    return est.fit(*args, **kwargs)


def _X(est, data):
    return data[_kind(type(est))][0][0]


def _output(est, X):
    """Predictions, as probabilities where the estimator gives them (arrays, or a list)."""
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    return out if isinstance(out, list) else [out]


def _assert_same_output(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert_array_equal(x, y)


def _random_params(cls):
    """Settings that draw random numbers in training (dropout), where the estimator takes them."""
    est = fast_instance(cls)
    params = _training_params(est)
    if _is_maml(cls) or "dropout" not in params:  # MAML refuses dropout
        return {}
    extra = {"dropout": 0.3}
    if "num_layers" in params:  # a recurrent layer's dropout acts between layers
        extra["num_layers"] = 2
    return extra


def _instance(cls, **training):
    """The fast instance of cls, trained for a few epochs (checks need no accuracy), with
    training settings set where they live."""
    est = fast_instance(cls)
    few = {} if _is_maml(cls) else {"max_epochs": 4}  # MAML trains n_meta_iter
    return _set_training(est, **{**few, **_random_params(cls), **training})


def _weights(est):
    return {k: v.detach().clone() for k, v in est.net_.module_.state_dict().items()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ------------------------------------------------------------------ 0. unfitted
@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_unfitted_estimator_clones_and_refuses_to_predict(cls, data):
    est = fast_instance(cls)
    assert repr(sorted(clone(est).get_params().items())) == \
        repr(sorted(est.get_params().items()))
    with pytest.raises(NotFittedError):
        est.predict(_X(est, data))


# ------------------------------------------------------------------ 1. reproducible
@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_same_seed_same_model_twice_and_in_threads(cls, data):
    first = _fit(_instance(cls), data)
    X = _X(first, data)
    expected = _output(first, X)
    _assert_same_output(_output(_fit(first, data), X), expected)  # the same object refitted
    _assert_same_output(_output(_fit(_instance(cls), data), X), expected)  # another one
    # two fits at once, each in its own thread
    ests, errors = [_instance(cls), _instance(cls)], []

    def fit(est):
        try:
            _fit(est, data)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(est,)) for est in ests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for est in ests:
        _assert_same_output(_output(est, X), expected)


# ------------------------------------------------------------------ 2. atomic fits
class _FailAtEpoch(Callback):
    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("callback failed")


@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_a_fit_that_raises_leaves_the_fitted_estimator_as_it_was(cls, data):
    est = _fit(_instance(cls), data)
    X = _X(est, data)
    output, n_iter, weights = _output(est, X), est.n_iter_, _weights(est)
    _set_training(est, callbacks=[_FailAtEpoch(2)])
    if _is_maml(cls):
        est.set_params(n_meta_iter=150)  # an engine epoch is 100 meta-iterations
    before = dict(vars(est))
    with pytest.raises(RuntimeError, match="callback failed"):
        _fit(est, data)
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[k] is before[k] for k in before)  # every attribute as it was
    assert est.n_iter_ == n_iter
    _assert_same_weights(_weights(est), weights)
    _assert_same_output(_output(est, X), output)


# ------------------------------------------------------------------ 3, 4. persistence
@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_pickle_round_trips_predictions(cls, data):
    est = _fit(_instance(cls), data)
    X = _X(est, data)
    loaded = pickle.loads(pickle.dumps(est))
    _assert_same_output(_output(loaded, X), _output(est, X))
    assert_array_equal(np.asarray(loaded.predict(X)), np.asarray(est.predict(X)))


@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_save_model_load_model_round_trips_predictions(cls, data, tmp_path):
    est = _fit(_instance(cls), data)
    X = _X(est, data)
    loaded = load_model(save_model(est, tmp_path / "model"))
    assert type(loaded) is type(est)
    assert repr(sorted(loaded.get_params().items())) == repr(sorted(est.get_params().items()))
    _assert_same_output(_output(loaded, X), _output(est, X))
    assert_array_equal(np.asarray(loaded.predict(X)), np.asarray(est.predict(X)))
    assert loaded.n_iter_ == est.n_iter_


# ------------------------------------------------------------------ 5. dtype after fit
@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_a_new_dtype_after_fit_leaves_the_network_as_built(cls, data):
    est = _fit(_instance(cls), data)
    X = _X(est, data)
    output, dtype = _output(est, X), est.net_.dtype
    _set_training(est, dtype="float64")
    _assert_same_output(_output(est, X), output)  # the network keeps its dtype
    assert est.net_.dtype == dtype == torch.float32


# ------------------------------------------------------------------ 6. freeze='*'
@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_freezing_every_parameter_is_refused(cls, data):
    est = _instance(cls)
    if "freeze" not in _training_params(est):
        pytest.skip(f"{cls.__name__} has no freeze")
    _set_training(est, freeze="*")
    # MAML meta-learns every parameter: it refuses freeze itself
    match = "freeze.*every parameter is meta-learned" if issubclass(cls, _BaseMAML) else \
        "freezes every parameter of the network: nothing would train"
    with pytest.raises(ValueError, match=match):
        _fit(est, data)
    assert not hasattr(est, "net_")


# ------------------------------------------------------------------ 7. exact resumption
@pytest.mark.parametrize("cls", NEURAL, ids=IDS)
def test_k_then_m_more_with_warm_start_equal_k_plus_m_bit_for_bit(cls, data):
    if _is_maml(cls):  # MAML counts meta-iterations (n_meta_iter), not epochs
        once = _fit(_instance(cls).set_params(n_meta_iter=50), data)
        warm = _fit(_instance(cls, warm_start=True).set_params(n_meta_iter=20), data)
        _fit(warm.set_params(n_meta_iter=30), data)  # a warm start trains n_meta_iter more
        assert warm.n_meta_iter_ == once.n_meta_iter_ == 50
    else:
        if "max_epochs" not in _training_params(fast_instance(cls)):
            pytest.skip(f"{cls.__name__} has no max_epochs")
        once = _fit(_instance(cls, max_epochs=5), data)
        warm = _fit(_instance(cls, max_epochs=2, warm_start=True), data)
        _fit(_set_training(warm, max_epochs=3), data)  # max_epochs more epochs
        assert warm.n_iter_ == once.n_iter_ == 5
    _assert_same_weights(_weights(warm), _weights(once))
    X = _X(once, data)
    _assert_same_output(_output(warm, X), _output(once, X))
    if hasattr(once, "partial_fit"):  # one epoch per call
        steps = _instance(cls, max_epochs=5)
        args, kwargs = data[_kind(cls)]
        for _ in range(5):
            steps.partial_fit(*args, **kwargs)
        assert steps.n_iter_ == 5
        _assert_same_weights(_weights(steps), _weights(once))
