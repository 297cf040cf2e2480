"""Multi-task estimators: :class:`MultiTaskClassifier` and :class:`MultiTaskRegressor`.

They wrap a base estimator (``MultiTaskClassifier(CNNClassifier(...))``):
its network's trunk is shared, one linear head per task is added, and the
tasks' losses are combined. ``y`` has one column per task; a missing label
is left out of its task's loss only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._composition import NeuralMetaEstimator
from ._multitask_targets import MultiTaskTargets, _natural

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

_SHARED_DOC = """\
    estimator : estimator object, default=None
        The base estimator whose network trunk is shared by the tasks and
        which reads ``X``: :class:`CNNClassifier`, :class:`RNNClassifier`,
        :class:`FeedForwardClassifier` or :class:`TorchModuleClassifier` (the
        regressors for :class:`MultiTaskRegressor`). None:
        ``%(default)s()``. Its training parameters (``lr``, ``max_epochs``,
        ``batch_size``, ``optimizer``, ``lr_schedule``, ``early_stopping``,
        ``warm_start``, ``callbacks``, ``device``, ``dtype``, ``init_from``,
        ``freeze``, ``trunk_lr``, ``class_weight``) train the multi-task
        network; its own head is replaced by one head per task (blocks
        ``heads.0``, ``heads.1``, ...). It is cloned at fit (``estimator_``).
    task_weights : {'equal', 'uncertainty', 'pcgrad'} or list of float, default='equal'
        How the tasks' losses combine: their plain sum, fixed weights (one
        per task, at least one positive), learned uncertainty weighting
        (Kendall et al., 2018), or the plain sum with PCGrad gradient
        surgery on the trunk (Yu et al., 2020)."""

# last in both signatures, after MultiTaskClassifier's own parameters
_RANDOM_STATE_DOC = """\
    random_state : int, RandomState instance or None, default=None
        Seeds the fit; None uses the wrapped estimator's ``random_state``."""


class _BaseMultiTask(NeuralMetaEstimator):
    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "get_params"])],
        "task_weights": [StrOptions({"equal", "uncertainty", "pcgrad"}), list, tuple],
        "random_state": ["random_state"],
    }
    _network_hint = "Check the wrapped estimator's architecture parameters."

    @property
    def task_names_(self):
        check_is_fitted(self)
        return self.targets_.task_names_

    def _task_outputs(self, X):
        outputs = self._predict_raw(X)
        return outputs if isinstance(outputs, tuple) else (outputs,)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions of every task.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads

        Returns
        -------
        y : ndarray of shape (n_samples, n_tasks), or (n_samples,) when fitted on 1-D y
            Labels in their original types (object dtype when tasks mix types).
        """
        outputs = self._task_outputs(X)
        return self.targets_.decode(outputs)

    def score_tasks(self, X: ArrayLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> np.ndarray:
        """Score of each task on its labelled samples.

        Accuracy for a classification task, R² for a regression task.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads
        y : array-like of shape (n_samples, n_tasks)
            True labels; missing entries are left out of their task's score.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        scores : ndarray of shape (n_tasks,)
        """
        return np.asarray([task_score(self, self, X, y, t, sample_weight=sample_weight)
                           for t in range(len(self.targets_.tasks_))])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _final_step(estimator):
    """The multi-task estimator at the end of a Pipeline (or the estimator itself)."""
    final = estimator
    while hasattr(final, "steps"):
        final = final.steps[-1][1]
    if not isinstance(final, _BaseMultiTask):
        raise ValueError(f"make_task_scorer scores a multi-task estimator (or a Pipeline "
                         f"ending in one), got {type(final).__name__}.")
    check_is_fitted(final)
    return final


def task_score(estimator, final, X, y, task, score_func=None, sample_weight=None, **kwargs):
    """Score of column ``task`` on its labelled rows; ``estimator`` predicts (a
    Pipeline, say), ``final`` (the multi-task model at its end) says which
    entries are missing and what kind the task is."""
    targets = final.targets_
    n_tasks = len(targets.tasks_)
    if not 0 <= task < n_tasks:
        raise ValueError(f"task={task}, but the model has {n_tasks} tasks "
                         f"{list(targets.task_names_)}.")
    targets.read_columns(y, reset=False)
    Y = np.asarray(y).reshape(len(y), -1)
    keep = ~targets.missing(Y)[:, task]
    if not keep.any():  # no label for this task: no score
        return np.nan
    pred = np.asarray(estimator.predict(X)).reshape(len(Y), -1)
    truth, guess = _natural(Y[keep, task]), _natural(pred[keep, task])
    if score_func is not None:
        return float(score_func(truth, guess, **kwargs))
    w = None if sample_weight is None else np.asarray(sample_weight)[keep]
    if targets.task_kinds()[task] == "classification":
        return float(accuracy_score(truth, guess, sample_weight=w))
    return float(r2_score(truth.astype(float), guess.astype(float), sample_weight=w))


class MultiTaskClassifier(ClassifierMixin, _BaseMultiTask):
    __doc__ = """Multi-task classifier: a base estimator's trunk shared by one head per task.

    ``y`` has one column per task (a pandas DataFrame keeps its column names
    as ``task_names_``, checked on every later call); each head is sized
    from its task's classes, which may be labels of any type. A missing
    label (NaN or None, or ``missing_label``) is left out of that task's
    loss only; the sample still trains the other tasks. Columns listed in
    ``regression_tasks`` are regression targets, so one model can mix
    classification and regression tasks.

    Follows scikit-learn's multi-output conventions, as
    :class:`~sklearn.multioutput.MultiOutputClassifier` does: with 2-D
    ``y``, ``predict`` returns ``(n_samples, n_tasks)``, ``predict_proba`` a
    list of per-task arrays and ``classes_`` a list; with 1-D ``y`` it is an
    ordinary single-task classifier. It is not tagged as a scikit-learn
    classifier (``is_classifier`` is False), so that ``cross_val_score``,
    ``GridSearchCV`` and the other model-selection tools with an integer
    ``cv`` split with ``KFold`` rather than reading the task table for
    stratification, which refuses NaN labels.

    Parameters
    ----------
%(shared)s
    regression_tasks : list of int or str, default=None
        Columns of ``y`` (indices, or names of a DataFrame's columns) that are
        regression targets, standardised inside as in :class:`CNNRegressor`.
    missing_label : object, default=np.nan
        The label that marks a missing entry of a classification task, for
        label types without NaN (e.g. -1 for integer labels). NaN and None
        always count as missing; in a regression task a value equal to
        ``missing_label`` is a target like any other.
%(random_state)s

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator`` that reads ``X``.
    classes_ : list of ndarray, or ndarray when fitted on 1-D y
        The classes of each task (None for a regression task).
    task_names_ : ndarray of shape (n_tasks,)
        Column names of ``y`` when it was a DataFrame, else ``task0, task1, ...``.
    n_features_in_ : int
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` has blocks ``trunk`` and ``heads``.
    n_iter_ : int

    See Also
    --------
    MultiTaskRegressor : the same network with regression tasks.
    sklearn.multioutput.MultiOutputClassifier : one independent model per task.

    Notes
    -----
    ``score`` is the subset accuracy over the classification tasks: the
    fraction of samples whose labelled entries are all predicted correctly
    (a sample with no labelled entry is skipped). ``score_tasks`` gives
    each task's score; :func:`make_task_scorer` turns one into a scorer for
    ``GridSearchCV(scoring={...})``, also for a Pipeline ending in the model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import CNNClassifier, MultiTaskClassifier
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> X, digit = load_digits_images()
    >>> Y = np.c_[digit, digit %% 2, digit >= 5]          # digit, parity, digit >= 5
    >>> clf = MultiTaskClassifier(CNNClassifier(channels=(8,), max_epochs=2),
    ...                           random_state=0).fit(X[:200], Y[:200])
    >>> clf.predict(X[:3]).shape, len(clf.predict_proba(X[:3]))
    ((3, 3), 3)
    """ % dict(shared=_SHARED_DOC % dict(default="CNNClassifier"),
               random_state=_RANDOM_STATE_DOC)

    _parameter_constraints = {
        **_BaseMultiTask._parameter_constraints,
        "regression_tasks": [None, list, tuple],
        "missing_label": "no_validation",
    }

    def __init__(self, estimator=None, *, task_weights="equal", regression_tasks=None,
                 missing_label=np.nan, random_state=None):
        self.estimator = estimator
        self.task_weights = task_weights
        self.regression_tasks = regression_tasks
        self.missing_label = missing_label
        self.random_state = random_state

    @classmethod
    def _default_estimator(cls):
        from ._cnn import CNNClassifier

        return CNNClassifier()

    def __sklearn_tags__(self):
        # not a scikit-learn classifier for model selection: an integer cv
        # would stratify on y, which reads a task table with missing labels
        # (NaN) as an error; with 2-D y scikit-learn uses KFold anyway
        tags = super().__sklearn_tags__()
        tags.estimator_type = None
        return tags

    def _new_targets(self):
        return MultiTaskTargets(self.regression_tasks or (), self.missing_label,
                                self.task_weights, self._base().class_weight,
                                owner=type(self).__name__)

    @property
    def classes_(self):
        check_is_fitted(self)
        classes = [getattr(task, "classes_", None) for task in self.targets_.tasks_]
        return classes[0] if self.targets_.ndim_ == 1 else classes

    def predict_proba(self, X: ArrayLike) -> list[np.ndarray] | np.ndarray:
        """Class probabilities of every task.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads

        Returns
        -------
        proba : list of ndarray of shape (n_samples, n_classes_t), or one ndarray
            when fitted on 1-D y. None for a regression task.
        """
        outputs = self._task_outputs(X)
        return self.targets_.proba(outputs)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
              ) -> float:
        """Subset accuracy over the classification tasks' labelled entries.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        targets = self.targets_
        targets.read_columns(y, reset=False)
        Y = np.asarray(y).reshape(len(y), -1)
        pred = self.predict(X).reshape(len(Y), -1)
        cls = [t for t, k in enumerate(targets.task_kinds()) if k == "classification"]
        missing = targets.missing(Y)[:, cls]
        right = np.ones(len(Y), dtype=bool)
        for i, t in enumerate(cls):
            keep = ~missing[:, i]
            right[keep] &= _natural(Y[keep, t]) == _natural(pred[keep, t])
        rows = ~missing.all(axis=1)
        w = None if sample_weight is None else np.asarray(sample_weight)[rows]
        return float(np.average(right[rows], weights=w))


class MultiTaskRegressor(RegressorMixin, _BaseMultiTask):
    __doc__ = """Multi-task regressor: a base estimator's trunk shared by one head per task.

    ``y`` has one column per task; NaN marks a missing target, left out of
    that task's loss only. Each task's targets are standardised inside
    (over its labelled samples) and predictions mapped back.

    Parameters
    ----------
%(shared)s
%(random_state)s

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator`` that reads ``X``.
    task_names_ : ndarray of shape (n_tasks,)
        Column names of ``y`` when it was a DataFrame, else ``task0, task1, ...``.
    n_features_in_ : int
    net_ : skorch.NeuralNet
    n_iter_ : int

    See Also
    --------
    MultiTaskClassifier : classification tasks, optionally mixed with regression.

    Notes
    -----
    ``score`` is the mean over tasks of R² on each task's labelled samples;
    ``score_tasks`` gives each task's R².

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import FeedForwardRegressor, MultiTaskRegressor
    >>> X = np.random.RandomState(0).rand(100, 6)
    >>> Y = np.c_[X.sum(axis=1), X[:, 0] - X[:, 1]]
    >>> reg = MultiTaskRegressor(FeedForwardRegressor(max_epochs=3), random_state=0).fit(X, Y)
    >>> reg.predict(X[:4]).shape
    (4, 2)
    """ % dict(shared=_SHARED_DOC % dict(default="CNNRegressor"),
               random_state=_RANDOM_STATE_DOC)

    _wraps = "regressor"

    def __init__(self, estimator=None, *, task_weights="equal", random_state=None):
        self.estimator = estimator
        self.task_weights = task_weights
        self.random_state = random_state

    @classmethod
    def _default_estimator(cls):
        from ._cnn import CNNRegressor

        return CNNRegressor()

    def _new_targets(self):
        return MultiTaskTargets("all", np.nan, self.task_weights, None,
                                owner=type(self).__name__)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
              ) -> float:
        """Mean over tasks of R² on each task's labelled samples.

        Parameters
        ----------
        X : array-like, any layout the wrapped estimator reads
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return float(self.score_tasks(X, y, sample_weight).mean())


def make_task_scorer(task: int, score_func: Callable[..., float] | None = None,
                     **kwargs) -> Callable[..., float]:
    """A scorer of one task of a multi-task estimator, for ``scoring={...}``.

    Works on the estimator itself and on a Pipeline that ends in one:
    missing entries (NaN, None, ``missing_label``) are left out as the
    model defines them.

    Parameters
    ----------
    task : int
        Column of ``y``.
    score_func : callable, default=None
        ``score_func(y_true, y_pred, **kwargs)`` on the task's labelled rows;
        None means accuracy for a classification task and R² for a
        regression task.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> from sklearn_mlarch.neural_network import make_task_scorer
    >>> scoring = {"digit": make_task_scorer(0), "parity": make_task_scorer(1)}
    """

    def scorer(estimator, X, y):
        return task_score(estimator, _final_step(estimator), X, y, task,
                          score_func=score_func, **kwargs)

    return scorer
