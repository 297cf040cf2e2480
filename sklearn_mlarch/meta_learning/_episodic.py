"""What the episodic meta-learners share (MAML, prototypical networks).

A meta-learner wraps a base estimator's network and trains it on episodes
(small tasks drawn from the training data) through the package's one
training path: the episodes are the data set (:mod:`.._training.episodes`),
``n_meta_iter`` meta-iterations of ``meta_batch_size`` tasks. Classifiers
draw N-way K-shot episodes from the classes of ``y`` and can stop early on
meta-validation episodes of classes held out from meta-training.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (check_array, check_consistent_length, check_is_fitted,
                                      column_or_1d)

from .._composition import NeuralMetaEstimator
from .._engine import build_net
from .._input import _check_representable
from .._training.stream import LazyRows
from .._targets import Targets
from .._training import CrossEntropyObjective, SquaredErrorObjective
from .._training.episodes import (EpisodeSampler, TaskFamilySampler, ValidationEpisodes,
                                  task_family_sample)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

# settings of the wrapped estimator that no episodic learner can use
REFUSED = {
    "early_stopping": ((False,), "meta-training stops on meta-validation episodes: pass "
                       "early_stopping=True to the meta-estimator instead."),
    "class_weight": ((None,), "episodes draw the same number of rows of every class."),
}

#: meta-validation episodes, scored after every 100 meta-iterations
N_VALIDATION_TASKS = 200

EARLY_STOPPING_PARAMS = """\
    early_stopping : bool, default=False
        Hold classes out of meta-training (``validation_fraction`` of them,
        or the classes of ``X_val, y_val`` passed to ``fit``) and score
        200 fixed N-way K-shot episodes of them after every 100
        meta-iterations (``valid_acc`` in ``history_``); stop when the
        accuracy has not improved by ``tol`` of the wrapped estimator for
        ``n_iter_no_change`` scorings, and keep the network of the best one.
    validation_fraction : float, default=0.1
        Fraction of the classes (at least ``n_way``) held out for
        meta-validation when ``X_val`` is not given.
    n_iter_no_change : int, default=5
        Scorings (of 100 meta-iterations each) without improvement before
        meta-training stops."""


class EpisodeTargets(Targets):
    """A meta-learner's targets: labels whose classes are drawn into N-way
    episodes, or values used as given (not standardised, as in the MAML
    paper: the inner learning rate is relative to their scale). A task
    family brings its own targets: then only their number of outputs is known."""

    def __init__(self, classify, n_way=None, owner="MAMLClassifier"):
        self.classify, self.n_way, self.owner = classify, n_way, owner
        self.multi_output = self.numeric = not classify

    def fit_family(self, n_outputs):
        self.ndim_, self.n_outputs_ = 2, n_outputs

    def fit(self, y, sample_weight=None, classes=None):
        if y is None:  # a task family: fit_family said what is known
            return None
        if self.classify:
            check_classification_targets(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError(f"y has samples of only 1 class "
                                 f"({_plain(self.classes_[0])!r}); {self.owner} needs at "
                                 "least 2 classes.")
            self.n_way_ = len(self.classes_) if self.n_way is None else self.n_way
            if self.n_way_ > len(self.classes_):
                raise ValueError(f"n_way={self.n_way_} but y has {len(self.classes_)} "
                                 f"classes. Pass n_way <= {len(self.classes_)} or more "
                                 "classes.")
        else:
            y = np.asarray(y, dtype=np.float64)
            self.ndim_, self.n_outputs_ = y.ndim, 1 if y.ndim == 1 else y.shape[1]
        return self.encode(y)

    def encode(self, y, classes=None):
        """Class codes of the training classes, or the values as ``(n, n_outputs)``."""
        if y is None:
            return None
        if self.classify:
            check_classification_targets(y)
            unknown = ~np.isin(y, self.classes_)
            if unknown.any():
                raise ValueError(
                    f"y contains labels not in classes_ ({_plain(np.asarray(y)[unknown][0])!r} "
                    f"is not one of the {len(self.classes_)} classes fitted). A warm start "
                    f"continues on the same classes: fit with warm_start=False for new ones.")
            return np.searchsorted(self.classes_, y).astype(np.int64)
        y = np.asarray(y, dtype=np.float64)
        if (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(f"y has {1 if y.ndim == 1 else y.shape[1]} outputs but the "
                             f"estimator was fitted with {self.n_outputs_}.")
        return y.reshape(len(y), -1)

    @property
    def n_outputs(self):
        return self.n_way_ if self.classify else self.n_outputs_

    def objective(self):
        return CrossEntropyObjective() if self.classify else SquaredErrorObjective()

    def sample_weight(self, sw, codes, dtype, seed=0):
        return None  # episodes weigh their tasks, and their rows, equally

    def head_classes(self):
        return None


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_task_family(X):
    return callable(getattr(X, "sample", None)) and not hasattr(X, "shape")


class _BaseEpisodic(NeuralMetaEstimator):
    """Meta-training on episodes through the one training path; not for direct use.

    Subclasses define ``_module(network, network_kwargs, targets)``, the
    torch module (and its keyword arguments) whose forward takes a
    meta-batch of episodes, ``_sampler`` and ``_training_task``.
    """

    _continuations = {"n_meta_iter": "resume"}  # warm start: n_meta_iter more
    _unused_params = {
        f"estimator__{name}": f"Meta-training runs {instead} (pass resource='n_meta_iter' "
        "to HyperbandSearchCV)."
        for name, instead in [("max_epochs", "n_meta_iter meta-iterations"),
                              ("batch_size", "meta-batches of meta_batch_size tasks")]}
    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "get_params"])],
        "k_shot": [Interval(Integral, 1, None, closed="left")],
        "n_query": [Interval(Integral, 1, None, closed="left")],
        "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_meta_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
    _refused = REFUSED
    _applied_on_warm_start = NeuralMetaEstimator._applied_on_warm_start | {
        "n_meta_iter", "meta_batch_size", "k_shot", "n_query"}
    _network_hint = "Check that the wrapped estimator's network takes samples of input_shape."

    @classmethod
    def _default_estimator(cls):
        from ..neural_network import FeedForwardClassifier, FeedForwardRegressor

        kind = FeedForwardClassifier if cls._wraps == "classifier" else FeedForwardRegressor
        return kind(hidden_sizes=(40, 40))

    def _config_overrides(self):
        return dict(batch_size=self.meta_batch_size, lr_schedule="constant", max_epochs=1,
                    early_stopping=getattr(self, "early_stopping", False),
                    n_iter_no_change=getattr(self, "n_iter_no_change", 10),
                    divergence_advice=self._divergence_advice)

    _divergence_advice = ("estimator__lr", "")

    def _new_net(self, config, targets, init_hook=None):
        network, kwargs = self._network()
        kwargs = dict(kwargs)
        kwargs.pop("n_outputs", None)
        builder, module_kwargs = self._module(network, kwargs, targets)
        hook = init_hook  # applied to the whole episodic module (load_model)
        if hook is None and config.init_from is not None:
            from .._transfer import LoadWeights, source_state

            hook = _OnNetwork(LoadWeights(*source_state(config.init_from)))
        return build_net(config, builder, module_kwargs, targets.objective(),
                         seed=self._seed_, init_hook=hook, owner=type(self).__name__,
                         network_hint=self._network_hint, episodes=True)

    partial_fit = available_if(lambda self: False)(NeuralMetaEstimator.partial_fit)

    # ---------------------------------------------------------------- fitting
    def _meta_fit(self, X, y, groups=None, validation=(None, None)):
        """Meta-train through the one training path (``_train``): the episodes are
        the data set, ``n_meta_iter`` meta-iterations (more with a warm start)."""
        if _is_task_family(X) and (y is not None or groups is not None):
            raise ValueError("A task family (an object with a sample method) is passed as X "
                             "alone: fit(tasks), without y or groups.")
        return self._train(X, y, None, incremental=self._engine_config().warm_start,
                           groups=groups, validation=validation)

    def _validate_input(self, X, y="no_validation", reset=True, targets=None):
        if not _is_task_family(X):
            return super()._validate_input(X, y, reset=reset, targets=targets)
        self._family_shapes(X, reset, targets)
        return X, None

    def _dataset(self, targets, net, config, X, codes, weights, epochs, continuing,
                 groups=None, validation=(None, None)):
        start = self.n_meta_iter_ if continuing else 0
        if _is_task_family(X):
            sampler = TaskFamilySampler(X, self.k_shot, self.n_query, net.dtype, start=start,
                                        n_iterations=self.n_meta_iter)
            self.n_tasks_ = None  # the tasks are the family's
        else:
            sampler = self._sampler(X, codes, groups, start, targets, validation)
        self._sampler_ = sampler  # read by _fitted, then dropped
        return sampler, sampler.epochs()

    def _fitted(self, targets, X, y):
        self.n_meta_iter_ = self.__dict__.pop("_sampler_").position
        # the estimator itself predicts as adapted to its own training data (X is
        # the validated array: its column names, if any, were checked already)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            # data read batch by batch is not adapted to whole (it would be read whole)
            self._read_in_batches_ = isinstance(X, LazyRows)
            self.training_task_ = (None if _is_task_family(X) or self._read_in_batches_
                                   else self._training_task(X, y))

    def _family_shapes(self, family, reset, targets):
        X, y = task_family_sample(family, 1, 2, torch.Generator().manual_seed(0))
        shape, n_outputs = tuple(X.shape[2:]), int(y.shape[-1])
        if reset:
            self.estimator_ = clone(self._base())
            self.estimator_.input_shape_ = self.estimator_._resolve_input_shape(
                int(np.prod(shape)), shape)
            self.n_features_in_ = self.estimator_.n_features_in_ = int(np.prod(shape))
            targets.fit_family(n_outputs)
        elif shape != tuple(self.input_shape_) or n_outputs != targets.n_outputs:
            raise ValueError(f"The task family gives samples of shape {shape} with "
                             f"{n_outputs} outputs; the estimator was fitted on "
                             f"{tuple(self.input_shape_)} with {targets.n_outputs}.")

    def _support_counts(self, codes, names, what, k_shot=None):
        """Query rows per task: up to ``n_query``, what the smallest task leaves."""
        k_shot = self.k_shot if k_shot is None else k_shot
        counts = np.bincount(codes, minlength=len(names))
        if counts.min() < k_shot + 1:
            raise ValueError(
                f"{what} {_plain(names[counts.argmin()])!r} has {counts.min()} rows, "
                f"but k_shot={k_shot} support rows and at least 1 query row are needed per "
                f"{what}. Give each {what} at least {k_shot + 1} rows or lower k_shot.")
        return min(self.n_query, int(counts.min()) - k_shot)

    def _embed(self, X):
        """The network's embedding of validated ``X`` (its trunk), in evaluation mode."""
        from .._training.net import in_fixed_chunks

        network = self.net_.module_.network
        # left in evaluation mode (the engine sets the mode it trains in):
        # predictions in several threads never see batch norm in training
        network.eval()
        with torch.no_grad():
            return in_fixed_chunks(network.embed, X, self.net_.device)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    # ------------------------------------------------------------ persistence
    def _get_fitted_state(self):
        """Fitted attributes for :func:`~sklearn_mlarch.save_model`; the training
        task (the adapted model ``predict`` uses) as plain arrays."""
        state = super()._get_fitted_state()
        task = state.get("training_task_")
        if task is not None:
            state["training_task_"] = task._fitted_state()
        return state

    def _restore_fitted_state(self, fitted, weights):
        """Rebuild the fitted meta-learner from :meth:`_get_fitted_state` and the weights."""
        fitted = dict(fitted)
        task = fitted.pop("training_task_", None)
        super()._restore_fitted_state(fitted, weights)
        self.training_task_ = (None if task is None else
                               self._adapted_type()._from_fitted_state(self, task))

    def _task_targets(self, y):
        """A task's targets as the network trains on them (the regressor's values)."""
        y = self.targets_.encode(y)
        dtype = self._engine_config().np_dtype
        _check_representable(y, dtype, "y")
        return y.astype(dtype)


class _EpisodeClassifier:
    """Few-shot classification: N-way K-shot episodes from the classes of ``y``,
    meta-validation on held-out classes, ``predict`` through the training task."""

    _episode_constraints = {
        "n_way": [None, Interval(Integral, 2, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    }

    def _new_targets(self):
        return EpisodeTargets(True, self.n_way, owner=type(self).__name__)

    def _fitted(self, targets, X, y):
        self.classes_, self.n_way_ = targets.classes_, targets.n_way_
        super()._fitted(targets, X, y)

    def _sampler(self, X, codes, groups, start, targets, validation=(None, None)):
        name = type(self).__name__
        if groups is not None:
            raise ValueError(f"{name} draws its tasks from the classes of y; it takes no "
                             "groups.")
        names = targets.classes_
        validation_sampler = None
        if self.early_stopping:
            X, codes, names, validation_sampler = self._split_validation(
                X, codes, names, targets.n_way_, validation)
        elif validation[0] is not None:
            raise ValueError(f"X_val and y_val are meta-validation data for early stopping: "
                             f"pass {name}(early_stopping=True) to use them.")
        counts = np.bincount(codes, minlength=len(names))
        smallest, k_shot = int(counts.min()), self.k_shot
        if 2 <= smallest <= k_shot:
            k_shot = smallest - 1
            warnings.warn(
                f"k_shot={self.k_shot}, but class {_plain(names[counts.argmin()])!r} has only "
                f"{smallest} rows: episodes take {k_shot} support row(s) per class and 1 "
                f"query row. Pass k_shot <= {smallest - 1}, or more rows of each class.",
                UserWarning)
        n_query = self._support_counts(codes, names, "class", k_shot)
        sampler = EpisodeSampler(X, codes, len(names), targets.n_way_, k_shot, n_query,
                                 start=start, n_iterations=self.n_meta_iter)
        sampler.validation = validation_sampler
        return sampler

    def _split_validation(self, X, codes, names, n_way, validation):
        """Training rows, their codes and class names, and the meta-validation episodes:
        ``X_val, y_val`` when given, else ``validation_fraction`` of the classes."""
        name = type(self).__name__
        if self.n_way is None:
            raise ValueError(f"early_stopping=True holds classes out of meta-training, but "
                             f"n_way=None uses every class in each episode. Pass {name}"
                             "(n_way=...) with fewer ways than classes.")
        X_val, y_val = validation
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            X_val, _ = self._validate_input(X_val, reset=False)
            y_val = column_or_1d(check_array(y_val, ensure_2d=False, dtype=None,
                                             input_name="y_val"), warn=True)
            check_consistent_length(X_val, y_val)
            check_classification_targets(y_val)
            val_names, val_codes = np.unique(y_val, return_inverse=True)
        else:
            n_held = max(n_way, math.ceil(self.validation_fraction * len(names)))
            if len(names) - n_held < n_way:
                raise ValueError(
                    f"early_stopping=True holds {n_held} of the {len(names)} classes out for "
                    f"meta-validation (at least n_way={n_way}), leaving fewer than n_way for "
                    "meta-training. Pass more classes, a smaller n_way, or X_val and y_val.")
            rng = np.random.RandomState(self._seed_)
            held = np.zeros(len(names), dtype=bool)
            held[rng.permutation(len(names))[:n_held]] = True
            rows = held[codes]
            X_val, val_codes = X[rows], np.unique(codes[rows], return_inverse=True)[1]
            val_names = names[held]
            X, codes = X[~rows], np.unique(codes[~rows], return_inverse=True)[1]
            names = names[~held]
        if len(val_names) < n_way:
            raise ValueError(f"The meta-validation data has {len(val_names)} classes, fewer "
                             f"than n_way={n_way}. Pass X_val, y_val with at least {n_way} "
                             "classes.")
        k_shot = self.k_shot
        n_query = self._support_counts(val_codes, val_names, "meta-validation class", k_shot)
        sampler = EpisodeSampler(X_val, val_codes, len(val_names), n_way, k_shot, n_query)
        return X, codes, names, ValidationEpisodes(sampler, N_VALIDATION_TASKS,
                                                   self.meta_batch_size, self._seed_ + 1)

    def _training_task(self, X, y):
        if len(self.classes_) > self._max_ways():
            return None  # more classes than outputs: only adapt() to a task predicts
        return self.adapt(X, y)

    def _max_ways(self):
        """Most classes the training task adapts to (else ``predict`` needs ``adapt``)."""
        return math.inf

    def _way_limit(self):
        """Most classes :meth:`adapt` takes."""
        return math.inf

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities of the model adapted to the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return _check_training_task(self).predict_proba(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Classes predicted by the model adapted to the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return _check_training_task(self).predict(X)


def _check_training_task(estimator):
    check_is_fitted(estimator)
    if estimator.training_task_ is None:
        why = ("was meta-trained on a task family, so it has no training data of its own "
               "to predict for" if not hasattr(estimator, "classes_") else
               "was meta-trained on data read batch by batch (a memmap or a Dataset), which "
               "it does not adapt to whole" if getattr(estimator, "_read_in_batches_", False)
               else f"was trained on {len(estimator.classes_)} classes, more than its "
               f"n_way={estimator.n_way_} outputs")
        raise ValueError(
            f"This {type(estimator).__name__} {why}. Adapt it to a task first: "
            "est.adapt(X_support, y_support).predict(X).")
    return estimator.training_task_


class _OnNetwork:
    """Apply a weight-loading hook to the network inside the episodic module."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, module):
        self.hook(module.network)
        return module
