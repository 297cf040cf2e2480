"""Targets of a multi-task model: one column of ``y`` per task.

:class:`MultiTaskTargets` builds a :class:`~sklearn_mlarch._targets.ClassTargets`
or :class:`~sklearn_mlarch._targets.RegressionTargets` per column and adds
what only several tasks have: missing entries, column names checked on
every call, per-task sample weights, and a network with one head per task.
"""

from numbers import Integral, Real

import numpy as np

from .._targets import ClassTargets, RegressionTargets, Targets, normalise_weights, softmax
from .._training import MultiTaskObjective
from ..networks import MultiTaskNetwork


def _natural(column):
    """A column of an object array in its own natural dtype (ints stay ints);
    labels of mixed types (strings and numbers) stay objects, which scikit-learn's
    label checks refuse as they refuse them for a single-task classifier."""
    if column.dtype != object:
        return column
    values = column.tolist()
    if len({isinstance(v, str) for v in values}) > 1:
        return column
    return np.asarray(values)


def _is_nan_like(Y):
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    if pd is not None:
        return np.asarray(pd.isna(Y), dtype=bool)
    if Y.dtype.kind == "f":
        return np.isnan(Y)
    if Y.dtype.kind == "O":
        return np.vectorize(lambda v: v is None or (isinstance(v, float) and np.isnan(v)),
                            otypes=[bool])(Y) if Y.size else np.zeros(Y.shape, bool)
    return np.zeros(Y.shape, dtype=bool)


class MultiTaskTargets(Targets):
    """One target handler per column of ``y``, and a head per task.

    Parameters
    ----------
    regression_tasks : list of int or str, or 'all'
        Columns (indices or names) that are regression targets.
    missing_label : object
        Marks a missing label of a classification task (NaN and None always
        do, in any task). A regression target equal to it is a value.
    task_weights : {'equal', 'uncertainty', 'pcgrad'} or list of float
    class_weight : None, 'balanced', dict or list of dict
        A dict applies to every classification task whose classes hold its
        labels; a list gives one per task (None for a regression task).
    owner : str
        The estimator's name, for messages.
    """

    multi_output = True
    allow_missing = True

    def __init__(self, regression_tasks="all", missing_label=np.nan, task_weights="equal",
                 class_weight=None, owner="MultiTaskRegressor"):
        self.regression_tasks = regression_tasks
        self.missing_label = missing_label
        self.task_weights = task_weights
        self.class_weight = class_weight
        self.owner = owner

    # ----------------------------------------------------------- columns
    def read_columns(self, y, reset):
        names = list(map(str, y.columns)) if hasattr(y, "columns") else None
        if reset:
            self.columns_ = names
            return
        ndim = np.ndim(y)
        n_tasks = len(self.tasks_)
        if ndim != self.ndim_ or (ndim == 2 and np.shape(y)[1] != n_tasks):
            given = "1-D y" if ndim == 1 else f"y with {np.shape(y)[1] if ndim == 2 else '?'} " \
                                               "columns"
            fitted = "1-D y" if self.ndim_ == 1 else f"{n_tasks} tasks (columns of y)"
            raise ValueError(f"{given}, but the {self.owner} was fitted on {fitted}: "
                             f"{list(self.task_names_)}. Give y with one column per task, in "
                             "that order.")
        if names is not None and self.columns_ is not None and names != self.columns_:
            raise ValueError(
                f"y has columns {names}, but the {self.owner} was fitted on columns "
                f"{self.columns_}: the tasks would be mixed up. Select the columns in the "
                "fitted order: y[model.task_names_].")

    def missing(self, Y):
        """Boolean mask of missing entries of the 2-D ``Y``.

        NaN, None and pandas' NA in any task; ``missing_label`` in
        classification tasks only (a regression target equal to it is data).
        """
        mask = _is_nan_like(Y)
        label = self.missing_label
        if not (isinstance(label, float) and np.isnan(label)):
            for t, task in enumerate(self.tasks_):
                if isinstance(task, ClassTargets):
                    with np.errstate(invalid="ignore"):
                        mask[:, t] |= np.asarray(Y[:, t] == label, dtype=bool)
        return mask

    # ----------------------------------------------------------- encoding
    def _regression_columns(self, n_tasks, names):
        if isinstance(self.regression_tasks, str):  # 'all': a multi-task regressor
            return set(range(n_tasks))
        columns = set()
        for task in self.regression_tasks or ():
            if isinstance(task, str):
                if task not in names:
                    raise ValueError(f"regression_tasks names {task!r}, which is not a column "
                                     f"of y ({names}).")
                columns.add(names.index(task))
            elif (isinstance(task, Integral) and not isinstance(task, (bool, np.bool_))
                  and 0 <= task < n_tasks):
                columns.add(int(task))
            else:
                raise ValueError(f"regression_tasks holds {task!r}: give column indices "
                                 f"0..{n_tasks - 1} or column names of y (not booleans).")
        if len(columns) == n_tasks:
            raise ValueError("Every task is in regression_tasks: use MultiTaskRegressor.")
        return columns

    def _task_class_weight(self, t, n_tasks):
        cw = self.class_weight
        if isinstance(cw, (list, tuple)):
            if len(cw) != n_tasks:
                raise ValueError(f"class_weight is a list of {len(cw)}, but y has {n_tasks} "
                                 "tasks: give one dict (or None) per task.")
            return cw[t]
        return cw

    def _task_weights(self, n_tasks):
        weights = self.task_weights
        if isinstance(weights, str):
            return weights
        weights = list(weights)
        if len(weights) != n_tasks or not all(
                isinstance(w, Real) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
                for w in weights) or not any(w > 0 for w in weights):
            raise ValueError(
                f"task_weights={weights} must hold one finite weight >= 0 per task ({n_tasks} "
                "tasks), at least one of them positive: with all weights 0 nothing trains.")
        return weights

    def fit(self, y, sample_weight=None, classes=None):
        Y = np.asarray(y)
        self.ndim_ = Y.ndim
        Y = Y.reshape(len(Y), -1)
        n_tasks = Y.shape[1]
        self.task_names_ = np.asarray(self.columns_ or [f"task{t}" for t in range(n_tasks)],
                                      dtype=object)
        regression = self._regression_columns(n_tasks, list(self.task_names_))
        self.weighting_ = self._task_weights(n_tasks)
        self.tasks_ = [
            RegressionTargets(name=f"Task {name!r}'s targets") if t in regression else
            ClassTargets(self._task_class_weight(t, n_tasks), name=f"Task {name!r}",
                         owner=self.owner)
            for t, name in enumerate(self.task_names_)]
        return self._encode(Y, classes, sample_weight, reset=True)

    def encode(self, y, classes=None):
        Y = np.asarray(y)
        return self._encode(Y.reshape(len(Y), -1), classes, None, reset=False)

    def _task_classes(self, classes, n_tasks):
        if classes is None:
            return [None] * n_tasks
        if self.ndim_ == 1:
            return [classes]
        if len(classes) != n_tasks:
            raise ValueError(f"classes has {len(classes)} entries, but y has {n_tasks} tasks: "
                             "give one array of labels per task (None for a regression task).")
        return list(classes)

    def _encode(self, Y, classes, sample_weight, reset):
        missing = self.missing(Y)
        encoded = np.full(Y.shape, np.nan)
        given_classes = self._task_classes(classes, Y.shape[1])
        for t, (task, given) in enumerate(zip(self.tasks_, given_classes)):
            labelled = ~missing[:, t]
            if reset and not labelled.any():
                raise ValueError(f"Task {self.task_names_[t]!r} (column {t} of y) has no "
                                 "labels; every task needs labelled samples.")
            values = _natural(Y[labelled, t])
            if isinstance(task, RegressionTargets):
                try:
                    values = values.astype(np.float64)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"Task {self.task_names_[t]!r} is a regression task but "
                                     f"its targets are not numbers: {exc}.") from exc
                given = None
            if reset:
                w = None if sample_weight is None else sample_weight[labelled]
                w = w if w is not None and w.sum() > 0 else None
                encoded[labelled, t] = task.fit(values, w, given).ravel()
            else:
                encoded[labelled, t] = task.encode(values, given).ravel()
        return encoded

    def check_refit(self, classes):
        pass

    # ----------------------------------------------------------- training
    @property
    def n_outputs(self):
        return [task.n_outputs for task in self.tasks_]

    def objective(self):
        return MultiTaskObjective([task.objective() for task in self.tasks_], self.weighting_)

    def network(self, module, kwargs):
        kwargs = dict(kwargs)
        input_shape = kwargs.pop("input_shape", None)
        return MultiTaskNetwork, dict(backbone=module, n_outputs=self.n_outputs,
                                      input_shape=input_shape, **kwargs)

    def sample_weight(self, sw, codes, dtype, seed=0):
        """Weights per sample and task, ``(n, T)``: each task's scaled to a mean of 1
        over its own labelled rows, so a task's batch loss estimates its weighted
        mean loss whatever the weights of the other tasks' rows."""
        sw = np.ones(len(codes)) if sw is None else sw
        if not sw.sum() > 0:
            raise ValueError("sample_weight sums to zero: give at least one sample a "
                             "positive weight.")
        if self.class_weight is None and np.all(sw == sw[0]):
            return None  # each task's plain mean over its labelled rows
        labelled = ~np.isnan(codes)
        factors = np.ones(codes.shape)
        for t, task in enumerate(self.tasks_):
            rows = labelled[:, t]
            factors[rows, t] = task.weights(codes[rows, t].astype(np.int64)) if isinstance(
                task, ClassTargets) else 1.0
        per_task = np.where(labelled, sw[:, None] * factors, 0.0)
        normalise_weights(per_task.ravel(), dtype)  # raises where dtype cannot hold them
        means = per_task.sum(0) / np.maximum(labelled.sum(0), 1)
        return (per_task / np.where(means > 0, means, 1.0)).astype(dtype)

    def head_classes(self):
        classes = [getattr(task, "classes_", None) for task in self.tasks_]
        return None if all(c is None for c in classes) else classes

    # ----------------------------------------------------------- prediction
    def decode(self, outputs):
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        columns = [task.decode(out).reshape(len(out), -1)[:, 0]
                   for task, out in zip(self.tasks_, outputs)]
        if self.ndim_ == 1:
            return columns[0]
        kinds = {c.dtype.kind for c in columns}
        dtype = object if len(kinds) > 1 else np.result_type(*[c.dtype for c in columns])
        return np.stack([c.astype(dtype) for c in columns], axis=1)

    def proba(self, outputs):
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        probas = [softmax(out, axis=1) if isinstance(task, ClassTargets) else None
                  for task, out in zip(self.tasks_, outputs)]
        return probas[0] if self.ndim_ == 1 else probas

    def task_kinds(self):
        return ["classification" if isinstance(t, ClassTargets) else "regression"
                for t in self.tasks_]
