"""What MAML and first-order MAML share: episodes as targets, the inner-loop
network built from the wrapped estimator's, meta-training through the
package's one training path, adaptation and saving.

A meta-estimator learns an initialisation of a network from many small
tasks; ``adapt(X_support, y_support)`` then takes a few gradient steps from
it on a new task and returns an ordinary fitted estimator. Meta-training
goes through the package's one training engine: the network is wrapped in
:class:`~sklearn_mlarch._training.meta.MAMLModule`, whose forward adapts to
each task of a meta-batch, and the engine's optimizer step is the
meta-update.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch.func import functional_call

from .._composition import NeuralMetaEstimator
from .._engine import build_net
from .._input import _check_representable
from .._targets import Targets
from .._training import CrossEntropyObjective, SquaredErrorObjective
from .._training.episodes import TaskFamilySampler, task_family_sample
from .._training.meta import InnerLoop, MAMLModule
from .._training.net import in_fixed_chunks
from ..networks import CNNNetwork
from ._adapted import AdaptedClassifier, AdaptedRegressor

# settings of the wrapped estimator that MAML cannot use, with the reason
_REFUSED = {
    "batch_norm": ((False,), "batch normalisation would mix the rows of a task's support "
                   "and query sets."),
    "dropout": ((0.0, 0), "dropout would make the inner steps random."),
    "early_stopping": ((False,), "meta-training runs n_meta_iter meta-iterations."),
    "class_weight": ((None,), "episodes draw the same number of rows of every class."),
    "freeze": ((None,), "every parameter is meta-learned."),
}


def build_maml_module(network, network_kwargs, n_outputs, loss, inner_lr, inner_steps,
                      first_order, shared_head=False):
    """The wrapped estimator's network, sized for the episodes, in its inner loop."""
    shared = n_outputs if shared_head else None
    kwargs = dict(network_kwargs, n_outputs=1 if shared_head else n_outputs)
    if network is CNNNetwork:
        kwargs["channels_last"] = False  # no vmap rule for it
    return MAMLModule(network(**kwargs), loss, inner_lr, inner_steps, first_order, shared)


class EpisodeTargets(Targets):
    """MAML's targets: labels whose classes are drawn into N-way episodes, or
    values used as given (not standardised, as in the MAML paper: the inner
    learning rate is relative to their scale). A task family brings its own
    targets: then only their number of outputs is known."""

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


# fitted attributes of a training task (AdaptedClassifier / AdaptedRegressor)
# that save_model stores besides its adapted parameters
_TASK_STATE = ("classes_", "_y_ndim", "n_steps_", "n_features_in_")


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_task_family(X):
    return callable(getattr(X, "sample", None)) and not hasattr(X, "shape")


class _BaseMAML(NeuralMetaEstimator):
    _continuations = {"n_meta_iter": "resume"}  # warm start: n_meta_iter more
    _unused_params = {
        f"estimator__{name}": f"MAML meta-trains {instead} (pass resource='n_meta_iter' to "
        "HyperbandSearchCV)."
        for name, instead in [("max_epochs", "n_meta_iter meta-iterations"),
                              ("batch_size", "meta-batches of meta_batch_size tasks")]}
    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "get_params"])],
        "first_order": ["boolean"],
        "inner_lr": [Interval(Real, 0, None, closed="neither")],
        "inner_steps": [Interval(Integral, 1, None, closed="left")],
        "adapt_steps": [None, Interval(Integral, 1, None, closed="left")],
        "k_shot": [Interval(Integral, 1, None, closed="left")],
        "n_query": [Interval(Integral, 1, None, closed="left")],
        "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_meta_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
    _refused = _REFUSED
    _applied_on_warm_start = NeuralMetaEstimator._applied_on_warm_start | {
        "n_meta_iter", "meta_batch_size", "adapt_steps", "k_shot", "n_query"}
    _network_hint = "Check that the wrapped estimator's network takes samples of input_shape."

    @classmethod
    def _default_estimator(cls):
        from ..neural_network import FeedForwardClassifier, FeedForwardRegressor

        kind = FeedForwardClassifier if cls._wraps == "classifier" else FeedForwardRegressor
        return kind(hidden_sizes=(40, 40))

    def _config_overrides(self):
        return dict(batch_size=self.meta_batch_size, lr_schedule="constant", max_epochs=1,
                    divergence_advice=("estimator__lr", "a smaller inner_lr, "))

    def _new_net(self, config, targets, init_hook=None):
        module, kwargs = self._network()
        kwargs = dict(kwargs)
        kwargs.pop("n_outputs", None)
        maml_kwargs = dict(network=module, network_kwargs=kwargs, n_outputs=targets.n_outputs,
                           loss=self._loss, inner_lr=self.inner_lr,
                           inner_steps=self.inner_steps, first_order=self.first_order,
                           **self._head_kwargs())
        hook = init_hook  # applied to the whole inner-loop module (load_model)
        if hook is None and config.init_from is not None:
            from .._transfer import LoadWeights, source_state

            hook = _OnNetwork(LoadWeights(*source_state(config.init_from)))
        return build_net(config, build_maml_module, maml_kwargs, targets.objective(),
                         seed=self._seed_, init_hook=hook, owner=type(self).__name__,
                         network_hint=self._network_hint)

    def _head_kwargs(self):
        return {}

    partial_fit = available_if(lambda self: False)(NeuralMetaEstimator.partial_fit)

    # ---------------------------------------------------------------- fitting
    def _meta_fit(self, X, y, groups=None):
        """Meta-train through the one training path (``_train``): the episodes are
        the data set, ``n_meta_iter`` meta-iterations (more with a warm start)."""
        if _is_task_family(X) and (y is not None or groups is not None):
            raise ValueError("A task family (an object with a sample method) is passed as X "
                             "alone: fit(tasks), without y or groups.")
        return self._train(X, y, None, incremental=self._engine_config().warm_start,
                           groups=groups)

    def _validate_input(self, X, y="no_validation", reset=True, targets=None):
        if not _is_task_family(X):
            return super()._validate_input(X, y, reset=reset, targets=targets)
        self._family_shapes(X, reset, targets)
        return X, None

    def _dataset(self, targets, net, config, X, codes, weights, epochs, continuing,
                 groups=None):
        start = self.n_meta_iter_ if continuing else 0
        if _is_task_family(X):
            sampler = TaskFamilySampler(X, self.k_shot, self.n_query, net.dtype, start=start,
                                        n_iterations=self.n_meta_iter)
            self.n_tasks_ = None  # the tasks are the family's
        else:
            sampler = self._sampler(X, codes, groups, start, targets)
        self._sampler_ = sampler  # read by _fitted, then dropped
        return sampler, sampler.epochs()

    def _fitted(self, targets, X, y):
        self.n_meta_iter_ = self.__dict__.pop("_sampler_").position
        # the estimator itself predicts as adapted to its own training data (X is
        # the validated array: its column names, if any, were checked already)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            self.training_task_ = None if _is_task_family(X) else self._training_task(X, y)

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

    def _support_counts(self, codes, n_codes, what, k_shot=None):
        """Query rows per task: up to ``n_query``, what the smallest task leaves."""
        k_shot = self.k_shot if k_shot is None else k_shot
        counts = np.bincount(codes, minlength=n_codes)
        if counts.min() < k_shot + 1:
            raise ValueError(
                f"{what} {_plain(self._code_names[counts.argmin()])!r} has {counts.min()} rows, "
                f"but k_shot={k_shot} support rows and at least 1 query row are needed per "
                f"{what}. Give each {what} at least {k_shot + 1} rows or lower k_shot.")
        return min(self.n_query, int(counts.min()) - k_shot)

    # ------------------------------------------------------------- adaptation
    def _inner_loop(self):
        """Adaptation with the current ``inner_lr`` (which need not be the meta-training one)."""
        module = self.net_.module_
        return InnerLoop(module.network, self._loss, self.inner_lr,
                         shared_head=module.shared_head)

    def _adapted_params(self, X, y, steps):
        """Network parameters after ``steps`` gradient steps on ``(X, y)``, detached."""
        module = self.net_.module_
        device = self.net_.device
        params = {k: v.detach() for k, v in module.network.named_parameters()}
        buffers = dict(module.network.named_buffers())
        X = torch.as_tensor(X, device=device)
        y = torch.as_tensor(y, device=device)
        with torch.no_grad():  # torch.func.grad still differentiates inside
            return self._inner_loop().adapt(params, buffers, X, y, steps)

    def _adapt_steps(self):
        return self.adapt_steps if self.adapt_steps is not None else self.inner_steps

    def _network_output(self, params, X):
        """Output of the network with ``params`` on validated ``X``, as float64 numpy."""
        network = self.net_.module_.network
        was_training = network.training
        network.eval()
        try:
            return in_fixed_chunks(lambda Xi: functional_call(network, params, (Xi,)), X,
                                   self.net_.device)
        finally:
            network.train(was_training)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    # ------------------------------------------------------------ persistence
    def _get_fitted_state(self):
        """Fitted attributes for :func:`~sklearn_mlarch.save_model`.

        The training task (the network adapted to the training data, which
        ``predict`` uses) is stored as plain arrays: the adapted parameters
        and the task's fitted attributes.
        """
        state = super()._get_fitted_state()
        task = state.get("training_task_")
        if task is not None:
            state["training_task_"] = dict(
                {name: getattr(task, name) for name in _TASK_STATE if hasattr(task, name)},
                steps=task.steps,
                params_={k: v.detach().cpu().numpy() for k, v in task.params_.items()})
        return state

    def _restore_fitted_state(self, fitted, weights):
        """Rebuild the fitted meta-learner from :meth:`_get_fitted_state` and the weights."""
        fitted = dict(fitted)
        task = fitted.pop("training_task_", None)
        super()._restore_fitted_state(fitted, weights)
        self.training_task_ = None
        if task is not None:
            adapted = (AdaptedClassifier if is_classifier(self) else AdaptedRegressor)(
                self, steps=task.get("steps"))
            adapted.meta_ = copy.copy(self)  # as fit's snapshot: fitted state by reference
            adapted.params_ = {k: torch.as_tensor(v, device=self.net_.device)
                               for k, v in task["params_"].items()}
            for name in _TASK_STATE:
                if name in task:
                    setattr(adapted, name, task[name])
            self.training_task_ = adapted

    def _task_targets(self, y):
        """A task's targets as the network trains on them (the regressor's values)."""
        y = self.targets_.encode(y)
        dtype = self._engine_config().np_dtype
        _check_representable(y, dtype, "y")
        return y.astype(dtype)


def _check_training_task(estimator):
    check_is_fitted(estimator)
    if estimator.training_task_ is None:
        why = ("was meta-trained on a task family, so it has no training data of its own "
               "to predict for" if not hasattr(estimator, "classes_") else
               f"was trained on {len(estimator.classes_)} classes, more than its "
               f"n_way={estimator.n_way_} outputs")
        raise ValueError(
            f"This {type(estimator).__name__} {why}. Adapt it to a task first: "
            "est.adapt(X_support, y_support).predict(X).")
    return estimator.training_task_


class _OnNetwork:
    """Apply a weight-loading hook to the network inside the inner-loop module."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, module):
        self.hook(module.network)
        return module
