"""Multi-task estimators: :class:`MultiTaskClassifier` and :class:`MultiTaskRegressor`.

One shared trunk (the package's CNN, RNN or MLP trunk, or a torch module of
the user's) and one linear head per task, trained on the weighted sum of the
tasks' losses. ``y`` has one column per task; a missing label is left out of
its task's loss only.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets

from .._training import CrossEntropyObjective, MultiTaskObjective, SquaredErrorObjective
from ..base import (BaseNeuralEstimator, _check_partial_fit, _fit_context,
                    backbone_input_shape, check_backbone_input_shape, softmax, standardise,
                    target_scaling)
from ..networks import CNNNetwork, MLPNetwork, MultiTaskNetwork, RNNNetwork
from ._docs import fill_doc

_TRUNKS = {"cnn": CNNNetwork, "rnn": RNNNetwork, "mlp": MLPNetwork}

_MULTITASK_PARAMS = """\
    input_shape : tuple of int, default=None
        Shape of one sample: ``(C, L)`` or ``(C, H, W)`` for the CNN trunk,
        ``(T, F)`` for the RNN trunk, ``(n_features,)`` for the MLP trunk.
        ``None`` takes the shape of an n-D ``X``, or a flat row as a
        one-channel signal (CNN), a univariate sequence (RNN) or a vector (MLP).
    trunk : {'cnn', 'rnn', 'mlp'} or torch.nn.Module, default='cnn'
        The shared trunk: the package's CNN, RNN or MLP trunk (their head
        dropped), or a torch module mapping a batch of ``input_shape``
        samples to ``(batch, features)`` (copied at every fit; a torchvision
        backbone with its classifier replaced by ``torch.nn.Flatten()``, say).
    trunk_params : dict, default=None
        Architecture of a built-in trunk, as for :class:`CNNClassifier`
        (``channels``, ``kernel_size``, ``pool_size``, ``batch_norm``,
        ``dropout``, ``hidden_sizes``), :class:`RNNClassifier` (``cell``,
        ``hidden_size``, ...) or the MLP (``hidden_sizes``, ``dropout``).
    task_weights : {'equal', 'uncertainty', 'pcgrad'} or list of float, default='equal'
        How the tasks' losses combine: their plain sum, fixed weights (one
        per task), learned uncertainty weighting (Kendall et al., 2018), or
        the plain sum with PCGrad gradient surgery on the trunk (Yu et al.,
        2020)."""


class _BaseMultiTask(BaseNeuralEstimator):
    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "trunk": [StrOptions(set(_TRUNKS)), torch.nn.Module],
        "trunk_params": [None, dict],
        "task_weights": [StrOptions({"equal", "uncertainty", "pcgrad"}), list, tuple],
    }
    _network_class = MultiTaskNetwork
    _multi_output_y = True
    _y_allow_missing = True
    _stratify_validation = False
    _network_hint = "Check trunk_params: it must hold sizes the trunk accepts."

    # ------------------------------------------------------------ network
    def _network_kwargs(self):
        params = dict(self.trunk_params or {})
        reserved = {"input_shape", "n_outputs", "n_features"} & set(params)
        if reserved:
            raise ValueError(f"trunk_params cannot set {sorted(reserved)}: the estimator sets "
                             "them from the data (pass input_shape to the estimator).")
        if isinstance(self.trunk, str):
            backbone = _TRUNKS[self.trunk]
            if self.trunk == "rnn":
                params["n_features"] = self.input_shape_[1]
            elif self.trunk == "mlp":
                params["n_features"] = self.input_shape_[0]
            elif getattr(self, "_flat_rows_", False):
                params.setdefault("global_pool", "flatten")  # as CNNClassifier does
        else:
            backbone = self.trunk
        return dict(backbone=backbone, input_shape=self.input_shape_, **params)

    def _default_input_shape(self, n_features):
        return backbone_input_shape(self.trunk, n_features) or (1, n_features)

    def _check_input_shape(self, shape):
        check_backbone_input_shape(self.trunk, shape, "trunk")

    def _objective(self):
        tasks = [CrossEntropyObjective() if kind == "classification" else SquaredErrorObjective()
                 for kind in self._task_kinds_]
        return MultiTaskObjective(tasks, self.task_weights)

    # ------------------------------------------------------------ targets
    def _task_names_from(self, y):
        self._y_columns = list(map(str, y.columns)) if hasattr(y, "columns") else None

    def _regression_columns(self, n_tasks, names):
        return set(range(n_tasks))

    def _prepare_sample_weight(self, sample_weight, y):
        """Weights per sample and task, ``(n, T)``: each task's scaled to a mean
        of 1 over its own labelled rows, so that a task's batch loss (the mean
        of weight times loss over its labelled rows) estimates the task's
        weighted mean loss whatever the weights of the other tasks' rows."""
        sw = super()._prepare_sample_weight(sample_weight, y)
        if sw is None:
            return None
        labelled = ~np.isnan(y)
        per_task = np.where(labelled, sw[:, None].astype(np.float64), 0.0)
        means = per_task.sum(0) / np.maximum(labelled.sum(0), 1)
        return (per_task / np.where(means > 0, means, 1.0)).astype(self._np_dtype)

    def _prepare_targets(self, y, reset, classes=None, sample_weight=None):
        y = np.asarray(y)
        Y = y.reshape(len(y), -1)
        if reset:
            self._y_ndim = y.ndim
            n_tasks = Y.shape[1]
            self.task_names_ = np.asarray(
                self._y_columns if getattr(self, "_y_columns", None) else
                [f"task{t}" for t in range(n_tasks)], dtype=object)
            regression = self._regression_columns(n_tasks, list(self.task_names_))
            self._task_kinds_ = ["regression" if t in regression else "classification"
                                 for t in range(n_tasks)]
            self._classes, self._y_mean, self._y_scale = [], np.zeros(n_tasks), np.ones(n_tasks)
        elif Y.shape[1] != len(self._task_kinds_):
            raise ValueError(f"y has {Y.shape[1]} tasks (columns) but the estimator was "
                             f"fitted with {len(self._task_kinds_)}.")
        missing = _missing(Y, getattr(self, "missing_label", np.nan))
        encoded = np.full(Y.shape, np.nan)
        for t, kind in enumerate(self._task_kinds_):
            labelled = ~missing[:, t]
            name = self.task_names_[t]
            if reset and not labelled.any():
                raise ValueError(f"Task {name!r} (column {t} of y) has no labels; every task "
                                 "needs labelled samples.")
            values = Y[labelled, t]
            if kind == "classification":
                encoded[labelled, t] = self._encode_labels(values, t, name, reset, classes)
            else:
                encoded[labelled, t] = self._standardise(values, t, name, reset,
                                                         sample_weight, labelled)
        self._n_outputs = [len(c) if c is not None else 1 for c in self._classes]
        return encoded.astype(self._np_dtype)

    def _encode_labels(self, values, t, name, reset, classes):
        if values.dtype == object:  # a column of a mixed-type y: its own natural dtype
            values = np.asarray(values.tolist())
        check_classification_targets(values)
        if reset:
            given = None if classes is None else np.asarray(
                classes[t] if self._y_ndim > 1 else classes)
            task_classes = np.unique(values if given is None else given)
            if len(task_classes) < 2:
                raise ValueError(f"Task {name!r} needs labels of at least 2 classes, got "
                                 f"{task_classes.tolist()}.")
            self._classes.append(task_classes)
        elif classes is not None:
            given = np.asarray(classes[t] if self._y_ndim > 1 else classes)
            if not np.array_equal(np.unique(given), self._classes[t]):
                raise ValueError(f"classes for task {name!r} ({given.tolist()}) differ from "
                                 f"the classes of the first call {self._classes[t].tolist()}.")
        task_classes = self._classes[t]
        unseen = ~np.isin(values, task_classes)
        if unseen.any():
            raise ValueError(f"Task {name!r} has labels {np.unique(values[unseen]).tolist()} "
                             f"that are not in its classes {task_classes.tolist()}; pass all "
                             "labels with `classes` on the first partial_fit call.")
        return np.searchsorted(task_classes, values)

    def _standardise(self, values, t, name, reset, sample_weight, labelled):
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Task {name!r} is a regression task but its targets are not "
                             f"numbers: {exc}.") from exc
        what = f"Task {name!r}'s targets"
        if reset:
            w = None if sample_weight is None else sample_weight[labelled]
            if w is not None and not w.sum() > 0:
                w = None
            mean, scale = target_scaling(values[:, None], w, what)
            self._y_mean[t], self._y_scale[t] = mean[0], scale[0]
            self._classes.append(None)
        return standardise(values, self._y_mean[t], self._y_scale[t], self._np_dtype, what)

    # ------------------------------------------------------------ prediction
    def _task_outputs(self, X):
        outputs = self._predict_raw(X)
        return outputs if isinstance(outputs, tuple) else (outputs,)

    def _decode(self, outputs):
        columns = []
        for t, out in enumerate(outputs):
            if self._task_kinds_[t] == "classification":
                columns.append(self._classes[t][out.argmax(axis=1)])
            else:
                columns.append(out[:, 0] * self._y_scale[t] + self._y_mean[t])
        if self._y_ndim == 1:
            return columns[0]
        kinds = {c.dtype.kind for c in columns}
        dtype = object if len(kinds) > 1 else np.result_type(*[c.dtype for c in columns])
        return np.stack([c.astype(dtype) for c in columns], axis=1)

    def predict(self, X):
        """Predictions of every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples, n_tasks), or (n_samples,) when fitted on 1-D y
            Labels in their original types (object dtype when tasks mix types).
        """
        return self._decode(self._task_outputs(X))

    def score_tasks(self, X, y, sample_weight=None):
        """Score of each task on its labelled samples.

        Accuracy for a classification task, R² for a regression task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples, n_tasks)
            True labels; missing entries are left out of their task's score.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        scores : ndarray of shape (n_tasks,)
        """
        Y = np.asarray(y).reshape(len(y), -1)
        pred = self.predict(X).reshape(len(Y), -1)
        missing = _missing(Y, getattr(self, "missing_label", np.nan))
        scores = []
        for t, kind in enumerate(self._task_kinds_):
            keep = ~missing[:, t]
            if not keep.any():  # no label for this task: no score
                scores.append(np.nan)
                continue
            w = None if sample_weight is None else np.asarray(sample_weight)[keep]
            truth, guess = _natural(Y[keep, t]), _natural(pred[keep, t])
            if kind == "classification":
                scores.append(accuracy_score(truth, guess, sample_weight=w))
            else:
                scores.append(r2_score(truth.astype(float), guess.astype(float),
                                       sample_weight=w))
        return np.asarray(scores)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _natural(column):
    """A column of an object array in its own natural dtype (ints stay ints)."""
    return np.asarray(column.tolist()) if column.dtype == object else column


def _missing(Y, missing_label):
    """Boolean mask of missing labels: NaN, None, pandas' NA, or ``missing_label``."""
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        mask = np.asarray(pd.isna(Y), dtype=bool)
    elif Y.dtype.kind == "f":
        mask = np.isnan(Y)
    elif Y.dtype.kind == "O":
        mask = np.vectorize(lambda v: v is None or (isinstance(v, float) and np.isnan(v)),
                            otypes=[bool])(Y) if Y.size else np.zeros(Y.shape, bool)
    else:
        mask = np.zeros(Y.shape, dtype=bool)
    if not (isinstance(missing_label, float) and np.isnan(missing_label)):
        with np.errstate(invalid="ignore"):
            mask |= np.asarray(Y == missing_label, dtype=bool)
    return mask


@fill_doc(max_epochs=30, lr=1e-3, multitask_params=_MULTITASK_PARAMS)
class MultiTaskClassifier(ClassifierMixin, _BaseMultiTask):
    """Multi-task neural network classifier: a shared trunk, one head per task.

    ``y`` has one column per task (a pandas DataFrame keeps its column names
    as ``task_names_``); each head is sized from its task's classes, which
    may be labels of any type. A missing label (NaN or None, or
    ``missing_label``) is left out of that task's loss only; the sample
    still trains the other tasks. Columns listed in ``regression_tasks``
    are regression targets, so one model can mix classification and
    regression tasks.

    Follows scikit-learn's multi-output conventions, as
    :class:`~sklearn.multioutput.MultiOutputClassifier` and
    :class:`~sklearn.ensemble.RandomForestClassifier` do: with 2-D ``y``,
    ``predict`` returns ``(n_samples, n_tasks)``, ``predict_proba`` a list
    of per-task arrays and ``classes_`` a list; with 1-D ``y`` it is an
    ordinary single-task classifier.

    Parameters
    ----------
%(multitask_params)s
    regression_tasks : list of int or str, default=None
        Columns of ``y`` (indices, or names of a DataFrame's columns) that are
        regression targets, standardised inside as in :class:`CNNRegressor`.
    missing_label : object, default=np.nan
        The label that marks a missing entry, for label types without NaN
        (e.g. -1 for integer labels). NaN and None always count as missing.
%(training_params)s

    Attributes
    ----------
    classes_ : list of ndarray, or ndarray when fitted on 1-D y
        The classes of each task (None for a regression task).
    task_names_ : ndarray of shape (n_tasks,)
        Column names of ``y`` when it was a DataFrame, else ``task0, task1, ...``.
%(fitted_attributes)s

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
    ``GridSearchCV(scoring={...})``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import MultiTaskClassifier
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> X, digit = load_digits_images()
    >>> Y = np.c_[digit, digit %% 2, digit >= 5]          # digit, parity, digit >= 5
    >>> clf = MultiTaskClassifier(trunk_params={"channels": (8,)}, max_epochs=2,
    ...                           random_state=0).fit(X[:200], Y[:200])
    >>> clf.predict(X[:3]).shape, len(clf.predict_proba(X[:3]))
    ((3, 3), 3)
    """

    _parameter_constraints = {
        **_BaseMultiTask._parameter_constraints,
        "regression_tasks": [None, list, tuple],
        "missing_label": "no_validation",
    }

    def __init__(self, input_shape=None, *, trunk="cnn", trunk_params=None,
                 task_weights="equal", regression_tasks=None, missing_label=np.nan,
                 max_epochs=30, batch_size=64, lr=1e-3, lr_schedule="plateau",
                 optimizer="adam",
                 optimizer_kwargs=None, weight_decay=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, warm_start=False,
                 random_state=None, device="cpu", dtype="float32", verbose=0, callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())

    def _regression_columns(self, n_tasks, names):
        columns = set()
        for task in self.regression_tasks or ():
            if isinstance(task, str):
                if task not in names:
                    raise ValueError(f"regression_tasks names {task!r}, which is not a column "
                                     f"of y ({names}).")
                columns.add(names.index(task))
            elif isinstance(task, Integral) and 0 <= task < n_tasks:
                columns.add(int(task))
            else:
                raise ValueError(f"regression_tasks holds {task!r}: give column indices "
                                 f"0..{n_tasks - 1} or column names of y.")
        if len(columns) == n_tasks:
            raise ValueError("Every task is in regression_tasks: use MultiTaskRegressor.")
        return columns

    @property
    def classes_(self):
        if not hasattr(self, "_classes"):
            raise AttributeError("classes_ is set by fit")
        return self._classes[0] if self._y_ndim == 1 else list(self._classes)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
        classes : list of array-like, default=None
            All labels of each task (an array for 1-D y); needed on the first
            call when a batch may miss some.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, relative to the other samples of this call
            (as in ``fit``): weights 100 on every sample of a call train
            as weights 1 do.

        Returns
        -------
        self : object
        """
        _check_partial_fit(self)
        return self._train(X, y, sample_weight, epochs=1, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities of every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : list of ndarray of shape (n_samples, n_classes_t), or one ndarray
            when fitted on 1-D y. None for a regression task.
        """
        probas = [softmax(out, axis=1) if kind == "classification" else None
                  for out, kind in zip(self._task_outputs(X), self._task_kinds_)]
        return probas[0] if self._y_ndim == 1 else probas

    def score(self, X, y, sample_weight=None):
        """Subset accuracy over the classification tasks' labelled entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        Y = np.asarray(y).reshape(len(y), -1)
        pred = self.predict(X).reshape(len(Y), -1)
        cls = [t for t, k in enumerate(self._task_kinds_) if k == "classification"]
        missing = _missing(Y, self.missing_label)[:, cls]
        right = np.ones(len(Y), dtype=bool)
        for i, t in enumerate(cls):
            keep = ~missing[:, i]
            right[keep] &= _natural(Y[keep, t]) == _natural(pred[keep, t])
        rows = ~missing.all(axis=1)
        w = None if sample_weight is None else np.asarray(sample_weight)[rows]
        return float(np.average(right[rows], weights=w))


@fill_doc(max_epochs=30, lr=1e-3, multitask_params=_MULTITASK_PARAMS)
class MultiTaskRegressor(RegressorMixin, _BaseMultiTask):
    """Multi-task neural network regressor: a shared trunk, one head per task.

    ``y`` has one column per task; NaN marks a missing target, left out of
    that task's loss only. Each task's targets are standardised inside
    (over its labelled samples) and predictions mapped back.

    Parameters
    ----------
%(multitask_params)s
%(training_params)s

    Attributes
    ----------
    task_names_ : ndarray of shape (n_tasks,)
        Column names of ``y`` when it was a DataFrame, else ``task0, task1, ...``.
%(fitted_attributes)s

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
    >>> from sklearn_mlarch import MultiTaskRegressor
    >>> X = np.random.RandomState(0).rand(100, 6)
    >>> Y = np.c_[X.sum(axis=1), X[:, 0] - X[:, 1]]
    >>> reg = MultiTaskRegressor(trunk="mlp", max_epochs=3, random_state=0).fit(X, Y)
    >>> reg.predict(X[:4]).shape
    (4, 2)
    """

    def __init__(self, input_shape=None, *, trunk="cnn", trunk_params=None,
                 task_weights="equal", max_epochs=30, batch_size=64, lr=1e-3,
                 lr_schedule="plateau",
                 optimizer="adam", optimizer_kwargs=None, weight_decay=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, warm_start=False, random_state=None, device="cpu",
                 dtype="float32", verbose=0, callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, relative to the other samples of this call
            (as in ``fit``): weights 100 on every sample of a call train
            as weights 1 do.

        Returns
        -------
        self : object
        """
        _check_partial_fit(self)
        return self._train(X, y, sample_weight, epochs=1, incremental=True)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of R² on each task's labelled samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return float(self.score_tasks(X, y, sample_weight).mean())


def make_task_scorer(task, score_func=None, **kwargs):
    """A scorer of one task of a multi-task estimator, for ``scoring={...}``.

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
        if score_func is None:
            return float(estimator.score_tasks(X, y)[task])
        Y = np.asarray(y).reshape(len(y), -1)
        keep = ~_missing(Y, getattr(estimator, "missing_label", np.nan))[:, task]
        pred = estimator.predict(X).reshape(len(Y), -1)
        return float(score_func(Y[keep, task], pred[keep, task], **kwargs))

    return scorer
