"""Score a meta-learner over many new tasks: mean and 95 % interval per number of steps."""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import (check_array, check_consistent_length, check_is_fitted,
                                      column_or_1d)

from ..datasets import sample_episodes
from .._training.episodes import task_family_sample
from ._episodic import _is_task_family

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from numpy.typing import ArrayLike
    from sklearn.base import BaseEstimator


def _steps_list(steps, meta):
    steps = [meta._adapt_steps()] if steps is None else (
        [steps] if isinstance(steps, Integral) else list(steps))
    if not steps or any(isinstance(s, bool) or not isinstance(s, Integral) or s < 0
                        for s in steps):
        raise ValueError(f"steps must be a non-negative int or a list of them, got {steps!r}.")
    return sorted(set(int(s) for s in steps))


def _tasks(meta, X, y, groups, n_tasks, k_shot, n_query, n_way, rng):
    """Yield ``(X_support, y_support, X_query, y_query)``, X validated, y encoded."""
    classifier = hasattr(meta, "classes_")
    if _is_task_family(X):
        if classifier:
            raise ValueError("evaluate_adaptation of a MAMLClassifier takes labelled data "
                             "X, y (episodes are drawn from it), not a task family.")
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        Xt, yt = task_family_sample(X, n_tasks, k_shot + (n_query or 100), generator)
        dtype = meta._engine_config().np_dtype
        Xt = Xt.numpy().astype(dtype)
        yt = yt.numpy().astype(dtype)
        for Xi, yi in zip(Xt, yt):
            yield Xi[:k_shot], yi[:k_shot], Xi[k_shot:], yi[k_shot:]
        return
    if y is None:
        raise ValueError("evaluate_adaptation needs y with X (or a task family as X).")
    Xv, _ = meta._validate_input(X, reset=False)
    if classifier:
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        check_consistent_length(Xv, y)
        idx = np.arange(len(Xv))
        n_way = meta.n_way_ if n_way is None else n_way
        limit = meta._way_limit()
        if isinstance(n_way, bool) or not isinstance(n_way, Integral) or \
                not 2 <= n_way <= limit:
            raise ValueError(f"n_way must be an int from 2 to the meta-learner's "
                             f"n_way_={meta.n_way_}, got {n_way!r}." if limit == meta.n_way_
                             else f"n_way must be an int >= 2, got {n_way!r}.")
        for s, ys, q, yq in sample_episodes(idx, y, n_way, k_shot,
                                            15 if n_query is None else n_query, n_tasks,
                                            random_state=rng):
            classes = np.unique(ys)
            yield Xv[s], np.searchsorted(classes, ys), Xv[q], np.searchsorted(classes, yq)
        return
    if groups is None:
        raise ValueError("evaluate_adaptation of a regressor needs groups (the task of each "
                         "row) or a task family as X.")
    y = check_array(y, ensure_2d=False, input_name="y")  # numeric and finite
    y = meta._task_targets(y)
    groups = column_or_1d(check_array(groups, ensure_2d=False, dtype=None, input_name="groups"))
    check_consistent_length(Xv, y, groups)
    for g in np.unique(groups)[:n_tasks]:
        rows = rng.permutation(np.flatnonzero(groups == g))
        if len(rows) < k_shot + 1:
            raise ValueError(f"group {g!r} has {len(rows)} rows; k_shot={k_shot} support rows "
                             "and at least one query row are needed.")
        query = rows[k_shot:] if n_query is None else rows[k_shot:k_shot + n_query]
        yield Xv[rows[:k_shot]], y[rows[:k_shot]], Xv[query], y[query]


def evaluate_adaptation(meta_estimator: BaseEstimator, X: Any, y: ArrayLike | None = None,
                        groups: ArrayLike | None = None, *,
                        steps: int | Sequence[int] | None = None, n_tasks: int = 600,
                        k_shot: int | None = None, n_query: int | None = None,
                        n_way: int | None = None,
                        random_state: int | np.random.RandomState | None = None,
                        ) -> dict[str, Any]:
    """Adapt a fitted meta-learner to many new tasks and score each on held-out points.

    Regression: mean squared error on each task's query points; for a task
    family, ``n_tasks`` tasks of ``k_shot`` support and ``n_query`` (default
    100) query points; for data, each group (up to ``n_tasks``) splits into
    ``k_shot`` random support rows and the rest (or ``n_query``) as queries.
    Classification: accuracy on ``n_tasks`` episodes of
    :func:`~sklearn_mlarch.datasets.sample_episodes` (``n_query`` default 15
    per class). The support sets are the only labels the model sees.

    Parameters
    ----------
    meta_estimator : fitted MAMLRegressor or MAMLClassifier
    X : array-like or task family
        Data of the test tasks (classes never seen in meta-training, for
        few-shot classification), or a task family such as
        :class:`~sklearn_mlarch.datasets.SinusoidTasks`.
    y : array-like of shape (n_samples,), default=None
    groups : array-like of shape (n_samples,), default=None
        The task of each row (regression on data).
    steps : int or list of int, default=None
        Numbers of adaptation steps to score after (0: the meta-learned
        initialisation itself); None takes ``adapt_steps``.
    n_tasks : int, default=600
    k_shot : int, default=None
        Support rows per task (per class); None takes the meta-learner's.
    n_query : int, default=None
    n_way : int, default=None
        Classes per episode; None takes the meta-learner's ``n_way_``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    result : dict
        ``steps`` (list), ``mean`` and ``ci95`` (half-width of the normal 95 %
        interval of the mean, 1.96 standard errors), both arrays with one
        value per number of steps, ``scores`` of shape (n_tasks, n_steps) and
        ``metric`` ('mse' or 'accuracy').

    Examples
    --------
    >>> from sklearn_mlarch import MAMLRegressor
    >>> from sklearn_mlarch.datasets import SinusoidTasks
    >>> from sklearn_mlarch.meta_learning import evaluate_adaptation
    >>> maml = MAMLRegressor(n_meta_iter=20, random_state=0).fit(SinusoidTasks())
    >>> res = evaluate_adaptation(maml, SinusoidTasks(), steps=[0, 1], n_tasks=20,
    ...                           random_state=0)
    >>> res["metric"], res["mean"].shape
    ('mse', (2,))
    """
    check_is_fitted(meta_estimator)
    meta = meta_estimator
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, Integral) or n_tasks < 2:
        raise ValueError(f"n_tasks must be an int >= 2, got {n_tasks!r}.")
    k_shot = meta.k_shot if k_shot is None else k_shot
    for name, value in [("k_shot", k_shot), ("n_query", n_query)]:
        if value is not None and (isinstance(value, bool) or not isinstance(value, Integral)
                                  or value < 1):
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    steps = _steps_list(steps, meta)
    rng = check_random_state(random_state)
    classifier = hasattr(meta, "classes_")
    scores = [meta._task_scores(Xs, ys, Xq, yq, steps)
              for Xs, ys, Xq, yq in _tasks(meta, X, y, groups, n_tasks, k_shot, n_query, n_way,
                                           rng)]
    scores = np.asarray(scores)
    half = 1.96 * scores.std(axis=0, ddof=1) / np.sqrt(len(scores))
    return {"steps": steps, "mean": scores.mean(axis=0), "ci95": half, "scores": scores,
            "metric": "accuracy" if classifier else "mse"}
