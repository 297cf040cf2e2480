"""MAML and first-order MAML as scikit-learn estimators: :class:`MAMLRegressor`
and :class:`MAMLClassifier`, which wrap a base estimator's network.

A meta-estimator learns an initialisation of a network from many small
tasks; ``adapt(X_support, y_support)`` then takes a few gradient steps from
it on a new task and returns an ordinary fitted estimator.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted

from .._training.episodes import GroupSampler
from ..base import ScoresStreams
from ._adapted import AdaptedClassifier, AdaptedRegressor
from ._base_maml import _BaseMAML
from ._episodic import (EARLY_STOPPING_PARAMS, EpisodeTargets, _check_training_task,
                        _EpisodeClassifier, _is_task_family)

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import ArrayLike
    from typing_extensions import Self

_MAML_ESTIMATOR = """\
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
        ``meta_batch_size``). Batch normalisation is transductive, as in the
        MAML paper's code: each task is normalised with the statistics of
        its own rows (the support set in adaptation, the rows predicted
        together in prediction; no running statistics). Dropout, the wrapped
        estimator's early stopping, ``class_weight`` and ``freeze`` are
        refused: they would make the inner steps random, mix tasks, or
        change what is meta-learned."""

# the other parameters of both MAML estimators: the classifier documents its
# own (n_way, shared_head, early stopping) between these, in signature order
_MAML_PARAMS = """\
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
        The history has one row per 100 meta-iterations."""

_MAML_RANDOM_STATE = """\
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


class MAMLRegressor(ScoresStreams, RegressorMixin, _BaseMAML):
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
%(estimator)s
%(params)s
%(random_state)s

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
    """ % dict(estimator=_MAML_ESTIMATOR % dict(default="FeedForwardRegressor"),
               params=_MAML_PARAMS % dict(inner_lr=0.01, k_shot=10, n_query=10,
                                          meta_batch_size=25, n_meta_iter=1000),
               random_state=_MAML_RANDOM_STATE, attributes=_MAML_ATTRIBUTES)

    _loss = "squared_error"
    _wraps = "regressor"

    def __init__(self, estimator=None, *, first_order=False, inner_lr=0.01, inner_steps=1,
                 adapt_steps=None, k_shot=10, n_query=10, meta_batch_size=25,
                 n_meta_iter=1000, random_state=None):
        self._store_params(locals())

    _test_params = dict(n_meta_iter=40, k_shot=5, n_query=5, meta_batch_size=4)

    def _new_targets(self):
        return EpisodeTargets(False, owner=type(self).__name__)

    def _sampler(self, X, y, groups, start, targets, validation=(None, None)):
        k_shot = self.k_shot
        if groups is None:
            codes, self._code_names = np.zeros(len(X), dtype=np.int64), np.array([0])
            k_shot = min(k_shot, len(X) - 1)  # one task: keep at least one query row
        else:
            groups = check_array(groups, ensure_2d=False, dtype=None, input_name="groups")
            if groups.ndim == 2 and groups.shape[1] == 1:
                groups = groups.ravel()
            if groups.ndim != 1:
                raise ValueError(f"groups must hold one task label per row (1-D), got an "
                                 f"array of shape {groups.shape}. Pass e.g. a list of ints "
                                 "or strings.")
            check_consistent_length(X, groups)
            try:
                self._code_names, codes = np.unique(groups, return_inverse=True)
            except TypeError as exc:  # None, or labels of types that do not compare
                raise ValueError(
                    "groups must hold one task label per row, of one comparable type (ints "
                    f"or strings), without None: {exc}. Pass groups=None for one task.") from exc
        n_query = self._support_counts(codes, self._code_names, "group", k_shot)
        self.n_tasks_ = len(self._code_names)
        return GroupSampler(X, y, codes, len(self._code_names), k_shot, n_query,
                            start=start, n_iterations=self.n_meta_iter)

    def _training_task(self, X, y):
        return self.adapt(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: ArrayLike | None = None, groups: ArrayLike | None = None,
            ) -> Self:
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
        return self._meta_fit(X, y, groups)

    def adapt(self, X: ArrayLike, y: ArrayLike, steps: int | None = None,
              ) -> AdaptedRegressor:
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

    def predict(self, X: ArrayLike) -> np.ndarray:
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


class MAMLClassifier(ScoresStreams, ClassifierMixin, _EpisodeClassifier, _BaseMAML):
    __doc__ = """Model-agnostic meta-learning (MAML, FOMAML) for few-shot classification.

    Meta-trains on N-way K-shot episodes drawn from the classes of ``y``:
    each episode takes ``n_way`` classes in a random order (labelled 0 to
    N-1, so the network learns to adapt, not the classes), ``k_shot``
    support rows and ``n_query`` query rows of each (Finn, Abbeel and
    Levine, ICML 2017). :meth:`adapt` returns a fitted classifier for up to
    ``n_way`` new classes, from a few labelled examples of each.

    Parameters
    ----------
%(estimator)s
    n_way : int, default=None
        Classes per episode; None takes all the classes of ``y``. Each class
        needs ``k_shot + 1`` rows; with fewer (but at least 2) the episodes
        take fewer support rows, with a warning.
    shared_head : bool, default=True
        Meta-learn one head row that every class of a task starts from, so
        that the initialisation cannot favour a class by its position in the
        episode (Ye and Chao, ICLR 2022); False: one row per output, as in
        the original MAML. A shared head adapts to any number of classes.
%(params)s
%(early)s
%(random_state)s

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
    """ % dict(estimator=_MAML_ESTIMATOR % dict(default="FeedForwardClassifier"),
               params=_MAML_PARAMS % dict(inner_lr=0.4, k_shot=5, n_query=5,
                                          meta_batch_size=16, n_meta_iter=1000),
               random_state=_MAML_RANDOM_STATE, attributes=_MAML_ATTRIBUTES,
               early=EARLY_STOPPING_PARAMS)

    _parameter_constraints = {
        **_BaseMAML._parameter_constraints,
        **_EpisodeClassifier._episode_constraints,
        "shared_head": ["boolean"],
    }
    _loss = "cross_entropy"

    def __init__(self, estimator=None, *, n_way=None, shared_head=True, first_order=False,
                 inner_lr=0.4, inner_steps=1, adapt_steps=None, k_shot=5, n_query=5,
                 meta_batch_size=16, n_meta_iter=1000, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, random_state=None):
        self._store_params(locals())

    _test_params = dict(n_meta_iter=40, k_shot=2, n_query=2, meta_batch_size=4)

    def _head_kwargs(self):
        return {"shared_head": self.shared_head}

    def _max_ways(self):
        return self.n_way_

    def _way_limit(self):
        return self.n_way_ if self.net_.module_.shared_head is None else math.inf

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike, *, X_val: ArrayLike | None = None,
            y_val: ArrayLike | None = None) -> Self:
        """Meta-train on N-way K-shot episodes drawn from the classes of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,)
            Labels of any type; each class needs at least ``k_shot + 1`` rows.
        X_val : array-like of shape (n_val_samples, ...), default=None
            Meta-validation rows for ``early_stopping`` (other classes than
            ``y``'s, e.g. other alphabets); None holds out
            ``validation_fraction`` of the classes of ``y``.
        y_val : array-like of shape (n_val_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._meta_fit(X, y, validation=(X_val, y_val))

    def adapt(self, X: ArrayLike, y: ArrayLike, steps: int | None = None,
              ) -> AdaptedClassifier:
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
