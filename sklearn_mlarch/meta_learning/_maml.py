"""MAML and first-order MAML as scikit-learn estimators.

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
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context, clone, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (check_array, check_consistent_length, check_is_fitted,
                                      column_or_1d)
from torch.func import functional_call

from .._composition import NeuralMetaEstimator
from .._engine import build_net, continue_net
from .._fitting import _exclusive_fit, _restore_on_error, check_unchanged
from .._input import _check_representable
from .._training import CrossEntropyObjective, SquaredErrorObjective
from .._training.episodes import (EpisodeSampler, GroupSampler, TaskFamilySampler,
                                  task_family_sample)
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


class _YOnly:
    """How MAML's ``y`` is validated with ``X`` (any label type, or numbers)."""

    allow_missing = False

    def __init__(self, multi_output, numeric):
        self.multi_output, self.numeric = multi_output, numeric


# fitted attributes of a training task (AdaptedClassifier / AdaptedRegressor)
# that save_model stores besides its adapted parameters
_TASK_STATE = ("classes_", "_y_ndim", "n_steps_", "n_features_in_")


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_task_family(X):
    return callable(getattr(X, "sample", None)) and not hasattr(X, "shape")


_MAML_PARAMS = """\
    estimator : estimator object, default=None
        The base estimator whose network initialisation is meta-learned and
        which reads ``X``: ``FeedForward*``, ``CNN*``, ``RNN*`` or
        ``TorchModule*``. None: ``%(default)s(hidden_sizes=(40, 40))``, the MAML
        paper's network. MAML uses its network and input layout, and its
        ``lr`` (the meta-learning rate), ``optimizer``, ``optimizer_kwargs``,
        ``weight_decay`` (the meta-optimizer), ``warm_start``, ``device``,
        ``dtype``, ``verbose``, ``callbacks`` (an epoch is 100
        meta-iterations) and ``init_from``; ``max_epochs``, ``batch_size``
        and ``lr_schedule`` are not used (``n_meta_iter``,
        ``meta_batch_size``). Batch normalisation, dropout, early stopping,
        ``class_weight`` and ``freeze`` are refused: they would mix tasks,
        make the inner steps random, or change what is meta-learned.
    first_order : bool, default=False
        False: MAML, differentiating through the inner loop (second order).
        True: first-order MAML (FOMAML), treating inner gradients as
        constants; faster, usually about as accurate.
    inner_lr : float, default=%(inner_lr)s
        Step size of the inner (adaptation) gradient steps.
    inner_steps : int, default=1
        Inner gradient steps per task during meta-training.
    adapt_steps : int, default=None
        Gradient steps taken by :meth:`adapt` (and to fit the estimator's own
        training data for ``predict``); None takes ``inner_steps``.
    k_shot : int, default=%(k_shot)s
        Support rows per task (per class for the classifier) in meta-training.
    n_query : int, default=%(n_query)s
        Query rows per task (per class for the classifier) that the adapted
        network is scored on in meta-training; capped at what the smallest
        task (class) leaves after its support rows.
    meta_batch_size : int, default=%(meta_batch_size)s
        Tasks per meta-iteration.
    n_meta_iter : int, default=%(n_meta_iter)s
        Meta-iterations trained by ``fit`` (with ``warm_start``, this many more).
        The history has one row per 100 meta-iterations.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and task sampling; None uses the wrapped
        estimator's ``random_state``."""

_MAML_ATTRIBUTES = """\
    n_features_in_ : int
        Number of features of one sample.
    input_shape_ : tuple of int
        Shape of one sample as given to the network.
    net_ : skorch.NeuralNet
        The trained engine; ``net_.module_.network`` is the meta-learned network.
    n_meta_iter_ : int
        Meta-iterations trained in total.
    n_iter_ : int
        Engine epochs (of up to 100 meta-iterations) trained in total."""


class _BaseMAML(NeuralMetaEstimator):
    _continuations = {"n_meta_iter": "resume"}  # warm start: n_meta_iter more
    _warm_start_param = "estimator__warm_start"  # warm_start is the wrapped estimator's
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

    def _new_net(self, config, n_outputs, init_hook=None):
        module, kwargs = self._network()
        kwargs = dict(kwargs)
        kwargs.pop("n_outputs", None)
        maml_kwargs = dict(network=module, network_kwargs=kwargs, n_outputs=n_outputs,
                           loss=self._loss, inner_lr=self.inner_lr,
                           inner_steps=self.inner_steps, first_order=self.first_order,
                           **self._head_kwargs())
        hook = init_hook  # applied to the whole inner-loop module (load_model)
        if hook is None and config.init_from is not None:
            from .._transfer import LoadWeights, source_state

            hook = _OnNetwork(LoadWeights(*source_state(config.init_from)))
        return build_net(config, build_maml_module, maml_kwargs, self._objective(),
                         seed=self._seed_, init_hook=hook, owner=type(self).__name__,
                         network_hint=self._network_hint)

    def _head_kwargs(self):
        return {}

    partial_fit = available_if(lambda self: False)(NeuralMetaEstimator.partial_fit)

    # ---------------------------------------------------------------- fitting
    def _meta_train(self, X, y, groups):
        config = self._engine_config()
        with _exclusive_fit(self), _restore_on_error(self):
            continuing = config.warm_start and hasattr(self, "net_")
            family = _is_task_family(X)
            if family:
                if y is not None or groups is not None:
                    raise ValueError("A task family (an object with a sample method) is "
                                     "passed as X alone: fit(tasks), without y or groups.")
                self._family_shapes(X, reset=not continuing)
                data = None
                if hasattr(self, "_code_names"):  # the tasks are the family's, not groups
                    self.n_tasks_ = None
            else:
                X, y_given = self._validate_input(X, y, reset=not continuing,
                                                  targets=_YOnly(self._multi_output_y,
                                                                 self._y_numeric))
                y = self._prepare_targets(y_given, reset=not continuing)
                data = (X, y_given)
            if not continuing:
                self._seed_ = int(check_random_state(config.random_state).randint(2**31 - 1))
                net = self._new_net(config, self._n_outputs)
                self._setup_signature_ = self._setup_signature()
            else:
                check_unchanged(self._setup_signature_, self._setup_signature())
                net = continue_net(self.net_, config)
            start = self.n_meta_iter_ if continuing else 0
            sampler = (TaskFamilySampler(X, self.k_shot, self.n_query, net.dtype,
                                         start=start, n_iterations=self.n_meta_iter)
                       if family else self._sampler(X, y, groups, start))
            net.train_epochs(sampler, sampler.epochs())
            self.net_ = net
            self.n_meta_iter_ = sampler.position
            self.n_iter_ = len(net.history)
            # the estimator itself predicts as adapted to its own training data
            self.training_task_ = None if family else self._training_task(*data)
        return self

    def _family_shapes(self, family, reset):
        X, y = task_family_sample(family, 1, 2, torch.Generator().manual_seed(0))
        shape, n_outputs = tuple(X.shape[2:]), int(y.shape[-1])
        if reset:
            self.estimator_ = clone(self._base())
            self.estimator_.input_shape_ = self.estimator_._resolve_input_shape(
                int(np.prod(shape)), shape)
            self.n_features_in_ = self.estimator_.n_features_in_ = int(np.prod(shape))
            self._y_ndim = 2
            self._n_outputs = n_outputs
        elif shape != tuple(self.input_shape_) or n_outputs != self._n_outputs:
            raise ValueError(f"The task family gives samples of shape {shape} with "
                             f"{n_outputs} outputs; the estimator was fitted on "
                             f"{tuple(self.input_shape_)} with {self._n_outputs}.")

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

        MAML has no target handler; its training task (the network adapted
        to the training data, which ``predict`` uses) is stored as plain
        arrays: the adapted parameters and the task's fitted attributes.
        """
        from ..persistence import default_fitted_state

        state = default_fitted_state(self)
        if "estimator_" in state:  # the wrapped estimator that reads X
            state["estimator_"] = default_fitted_state(self.estimator_)
        task = state.get("training_task_")
        if task is not None:
            state["training_task_"] = dict(
                {name: getattr(task, name) for name in _TASK_STATE if hasattr(task, name)},
                steps=task.steps,
                params_={k: v.detach().cpu().numpy() for k, v in task.params_.items()})
        return state

    def _restore_fitted_state(self, fitted, weights):
        """Rebuild the fitted meta-learner from :meth:`_get_fitted_state` and the weights."""
        from ..persistence import weights_loader

        fitted = dict(fitted)
        reader = fitted.pop("estimator_", None)
        task = fitted.pop("training_task_", None)
        for name, value in fitted.items():
            setattr(self, name, value)
        if reader is not None:
            self.estimator_ = clone(self._base())
            for name, value in reader.items():
                setattr(self.estimator_, name, value)
        if not hasattr(self, "_n_outputs"):
            raise ValueError("config.json lacks the fitted attribute '_n_outputs', so the "
                             "network cannot be rebuilt: save the model again with save_model.")
        self.net_ = self._new_net(self._engine_config(), self._n_outputs,
                                  init_hook=weights_loader(weights))
        self._setup_signature_ = self._setup_signature()
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


class MAMLRegressor(RegressorMixin, _BaseMAML):
    __doc__ = """Model-agnostic meta-learning (MAML, FOMAML) for regression tasks.

    Learns an initialisation of a network from which a few gradient steps
    on a handful of points fit a new task (Finn, Abbeel and Levine, ICML
    2017). Tasks are given as groups of rows (``fit(X, y, groups=task_ids)``)
    or as a task family sampled on the fly (``fit(SinusoidTasks())``).
    :meth:`adapt` returns a fitted regressor for a new task.

    Targets are used as given (not standardised), as in the MAML paper: the
    inner learning rate is relative to their scale.

    Parameters
    ----------
%(params)s

    Attributes
    ----------
%(attributes)s
    training_task_ : AdaptedRegressor or None
        The meta-learned network adapted to all of the training data, which
        ``predict`` uses; None after fitting a task family.
    n_tasks_ : int or None
        Number of training tasks (groups; 1 without groups), None for a task
        family. Inside ``GridSearchCV`` or ``cross_validate``, ``groups``
        reaches ``fit`` only with metadata routing
        (``sklearn.set_config(enable_metadata_routing=True)`` and
        ``est.set_fit_request(groups=True)``); otherwise all rows form one
        task.

    See Also
    --------
    MAMLClassifier : few-shot classification.
    sklearn_mlarch.datasets.SinusoidTasks : the paper's sinusoid task family.
    evaluate_adaptation : mean score and 95 %% interval over many new tasks.

    Examples
    --------
    >>> from sklearn_mlarch import MAMLRegressor
    >>> from sklearn_mlarch.datasets import SinusoidTasks
    >>> tasks = SinusoidTasks()
    >>> maml = MAMLRegressor(n_meta_iter=20, random_state=0).fit(tasks)
    >>> X, y, _ = tasks.make_tasks(n_tasks=1, n_points=10, random_state=1)
    >>> model = maml.adapt(X, y)
    >>> model.predict(X).shape
    (10,)
    """ % dict(params=_MAML_PARAMS % dict(default="FeedForwardRegressor", inner_lr=0.01, k_shot=10, n_query=10,
                                         meta_batch_size=25, n_meta_iter=1000),
               attributes=_MAML_ATTRIBUTES)

    _loss = "squared_error"
    _multi_output_y = True
    _y_numeric = True

    _wraps = "regressor"

    def __init__(self, estimator=None, *, first_order=False, inner_lr=0.01, inner_steps=1,
                 adapt_steps=None, k_shot=10, n_query=10, meta_batch_size=25,
                 n_meta_iter=1000, random_state=None):
        self._store_params(locals())

    _test_params = dict(n_meta_iter=40, k_shot=5, n_query=5, meta_batch_size=4)

    def _objective(self):
        return SquaredErrorObjective()

    def _prepare_targets(self, y, reset):
        y = np.asarray(y, dtype=np.float64)
        dtype = self._engine_config().np_dtype
        _check_representable(y, dtype, "y")
        if reset:
            self._y_ndim = y.ndim
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self._n_outputs:
            raise ValueError(f"y has {1 if y.ndim == 1 else y.shape[1]} outputs but the "
                             f"estimator was fitted with {self._n_outputs}.")
        return y.reshape(len(y), -1).astype(dtype)

    def _sampler(self, X, y, groups, start):
        k_shot = self.k_shot
        if groups is None:
            codes, self._code_names = np.zeros(len(X), dtype=np.int64), np.array([0])
            k_shot = min(k_shot, len(X) - 1)  # one task: keep at least one query row
        else:
            groups = column_or_1d(check_array(groups, ensure_2d=False, dtype=None,
                                              input_name="groups"), warn=True)
            check_consistent_length(X, groups)
            try:
                self._code_names, codes = np.unique(groups, return_inverse=True)
            except TypeError as exc:  # None, or labels of types that do not compare
                raise ValueError(
                    "groups must hold one task label per row, of one comparable type (ints "
                    f"or strings), without None: {exc}. Pass groups=None for one task.") from exc
        n_query = self._support_counts(codes, len(self._code_names), "group", k_shot)
        self.n_tasks_ = len(self._code_names)
        return GroupSampler(X, y, codes, len(self._code_names), k_shot, n_query,
                            start=start, n_iterations=self.n_meta_iter)

    def _training_task(self, X, y):
        return self.adapt(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Meta-train on the tasks in ``X, y, groups``, or on a task family ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape), \
or task family
            Rows of all training tasks; or an object with a
            ``sample(n_tasks, n_points, generator)`` method returning tensors
            ``(n_tasks, n_points, *input_shape)`` and ``(n_tasks, n_points, n_outputs)``,
            such as :class:`~sklearn_mlarch.datasets.SinusoidTasks`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets; None with a task family.
        groups : array-like of shape (n_samples,), default=None
            The task of each row; each task needs at least ``k_shot + 1``
            rows. None treats all rows as one task (with fewer than
            ``k_shot + 1`` rows, its support sets take all rows but one).

        Returns
        -------
        self : object
        """
        if y is None and not _is_task_family(X):
            raise ValueError("MAMLRegressor requires y to be passed, but the target y is None "
                             "(only a task family is fitted without y).")
        return self._meta_train(X, y, groups)

    def adapt(self, X, y, steps=None):
        """A regressor for a new task, adapted from the meta-learned initialisation.

        Parameters
        ----------
        X : array-like of shape (n_support, n_features) or (n_support, *input_shape)
            The task's few labelled rows (its support set).
        y : array-like of shape (n_support,) or (n_support, n_outputs)
        steps : int, default=None
            Gradient steps; None takes ``adapt_steps``.

        Returns
        -------
        model : AdaptedRegressor
            Fitted; ``predict`` and ``score`` work as for any regressor.
        """
        check_is_fitted(self)
        return AdaptedRegressor(self, steps=steps).fit(X, y)

    def predict(self, X):
        """Predictions of the meta-learned network adapted to the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return _check_training_task(self).predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class MAMLClassifier(ClassifierMixin, _BaseMAML):
    __doc__ = """Model-agnostic meta-learning (MAML, FOMAML) for few-shot classification.

    Meta-trains on N-way K-shot episodes drawn from the classes of ``y``:
    each episode takes ``n_way`` classes in a random order (labelled 0 to
    N-1, so the network learns to adapt, not the classes), ``k_shot``
    support rows and ``n_query`` query rows of each (Finn, Abbeel and
    Levine, ICML 2017). :meth:`adapt` returns a fitted classifier for up to
    ``n_way`` new classes, from a few labelled examples of each.

    Parameters
    ----------
    n_way : int, default=None
        Classes per episode; None takes all the classes of ``y``. Each class
        needs ``k_shot + 1`` rows; with fewer (but at least 2) the episodes
        take fewer support rows, with a warning.
    shared_head : bool, default=True
        Meta-learn one head row that every class of a task starts from, so
        that the initialisation cannot favour a class by its position in the
        episode (Ye and Chao, ICLR 2022); False: one row per output, as in
        the original MAML.
%(params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels of the training classes.
    n_way_ : int
        Classes per episode (outputs of the network).
%(attributes)s
    training_task_ : AdaptedClassifier or None
        The meta-learned network adapted to all of the training data, which
        ``predict`` uses when the training data has at most ``n_way`` classes.

    See Also
    --------
    MAMLRegressor : regression tasks.
    sklearn_mlarch.datasets.split_classes : hold out classes for testing.
    sklearn_mlarch.datasets.sample_episodes : N-way K-shot test episodes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_mlarch import MAMLClassifier
    >>> from sklearn_mlarch.datasets import split_classes
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_new, y_train, y_new = split_classes(X / 16, y, test_classes=[7, 8, 9])
    >>> maml = MAMLClassifier(n_way=3, k_shot=1, n_meta_iter=20, random_state=0)
    >>> model = maml.fit(X_train, y_train).adapt(X_new[:30], y_new[:30])
    >>> model.classes_.tolist()
    [7, 8, 9]
    """ % dict(params=_MAML_PARAMS % dict(default="FeedForwardClassifier", inner_lr=0.4, k_shot=5, n_query=5,
                                         meta_batch_size=16, n_meta_iter=1000),
               attributes=_MAML_ATTRIBUTES)

    _parameter_constraints = {
        **_BaseMAML._parameter_constraints,
        "n_way": [None, Interval(Integral, 2, None, closed="left")],
        "shared_head": ["boolean"],
    }
    _loss = "cross_entropy"
    _multi_output_y = False
    _y_numeric = False

    def __init__(self, estimator=None, *, n_way=None, shared_head=True, first_order=False,
                 inner_lr=0.4, inner_steps=1, adapt_steps=None, k_shot=5, n_query=5,
                 meta_batch_size=16, n_meta_iter=1000, random_state=None):
        self._store_params(locals())

    _test_params = dict(n_meta_iter=40, k_shot=2, n_query=2, meta_batch_size=4)

    def _objective(self):
        return CrossEntropyObjective()

    def _head_kwargs(self):
        return {"shared_head": self.shared_head}

    def _prepare_targets(self, y, reset):
        check_classification_targets(y)
        classes = np.unique(y)
        if reset:
            if len(classes) < 2:
                raise ValueError(f"MAMLClassifier needs samples of at least 2 classes in y, "
                                 f"got 1 class: {classes[0]!r}.")
            n_way = len(classes) if self.n_way is None else self.n_way
            if n_way > len(classes):
                raise ValueError(f"n_way={n_way} but y has {len(classes)} classes. Pass "
                                 f"n_way <= {len(classes)} or more classes.")
            self.classes_, self.n_way_, self._n_outputs = classes, n_way, n_way
        return y

    def _sampler(self, X, y, groups, start):
        if groups is not None:
            raise ValueError("MAMLClassifier draws its tasks from the classes of y; it takes "
                             "no groups.")
        self._code_names, codes = np.unique(y, return_inverse=True)
        smallest = int(np.bincount(codes).min())
        k_shot = self.k_shot
        if 2 <= smallest <= k_shot:
            k_shot = smallest - 1
            warnings.warn(
                f"k_shot={self.k_shot}, but class "
                f"{_plain(self._code_names[np.bincount(codes).argmin()])!r} has only "
                f"{smallest} rows: episodes take {k_shot} support row(s) per class and 1 "
                f"query row. Pass k_shot <= {smallest - 1}, or more rows of each class.",
                UserWarning)
        n_query = self._support_counts(codes, len(self._code_names), "class", k_shot)
        return EpisodeSampler(X, codes, len(self._code_names), self.n_way_, k_shot,
                              n_query, start=start, n_iterations=self.n_meta_iter)

    def _training_task(self, X, y):
        if len(self.classes_) > self.n_way_:
            return None  # more classes than outputs: only adapt() to a task predicts
        return self.adapt(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Meta-train on N-way K-shot episodes drawn from the classes of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,)
            Labels of any type; each class needs at least ``k_shot + 1`` rows.

        Returns
        -------
        self : object
        """
        return self._meta_train(X, y, None)

    def adapt(self, X, y, steps=None):
        """A classifier for new classes, adapted from the meta-learned initialisation.

        Parameters
        ----------
        X : array-like of shape (n_support, n_features) or (n_support, *input_shape)
            A few labelled rows of each new class (the support set).
        y : array-like of shape (n_support,)
            Labels of any type; at most ``n_way_`` classes.
        steps : int, default=None
            Gradient steps; None takes ``adapt_steps``.

        Returns
        -------
        model : AdaptedClassifier
            Fitted; ``predict``, ``predict_proba`` and ``score`` work as for
            any classifier.
        """
        check_is_fitted(self)
        return AdaptedClassifier(self, steps=steps).fit(X, y)

    def predict_proba(self, X):
        """Class probabilities of the network adapted to the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return _check_training_task(self).predict_proba(X)

    def predict(self, X):
        """Classes predicted by the network adapted to the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return _check_training_task(self).predict(X)


