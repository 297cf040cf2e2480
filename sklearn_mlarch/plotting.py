"""Plots of training histories, Hyperband searches, MAML adaptation and per-task scores.

matplotlib is an optional dependency (``pip install matplotlib``, or the
extra ``pip install "sklearn_mlarch[plot]"``). Importing the package, or this
module, does not import it: each function imports ``matplotlib.pyplot`` when
called. Every function draws on ``ax`` (a new figure when None) and returns
that Axes, so plots can be combined with ``plt.subplots`` and restyled.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike
    from sklearn.base import BaseEstimator

__all__ = ["plot_adaptation", "plot_history", "plot_hyperband", "plot_task_scores"]

# bookkeeping columns of a skorch history that are not curves to plot
_NOT_METRICS = ("epoch", "batches")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklearn_mlarch.plotting needs matplotlib, which is not installed: run "
            "`pip install matplotlib` (or install the extra: "
            "`pip install \"sklearn_mlarch[plot]\"`).") from exc
    return plt


def _axes(ax):
    """``ax`` checked, or the Axes of a new figure when None."""
    plt = _pyplot()
    if ax is None:
        return plt.subplots()[1]
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. `fig, ax = plt.subplots()`) or "
                        f"None for a new figure, got {type(ax).__name__}.")
    return ax


# ------------------------------------------------------------------ history
def _history_owner(estimator):
    """The estimator holding ``history_``: the estimator, or a Pipeline's last step."""
    final = getattr(estimator, "_final_estimator", None)  # a Pipeline
    if hasattr(type(final), "history_"):
        return final
    if not hasattr(type(estimator), "history_"):
        raise TypeError(
            "estimator must be an estimator of sklearn_mlarch (CNN*, RNN*, FeedForward*, "
            "TorchModule*, MultiTask*, MAML*, DeepEnsemble*), which keep their skorch "
            f"history in history_, or a Pipeline ending in one; got "
            f"{type(estimator).__name__}.")
    return estimator


def _recorded(history):
    """Names of the numeric per-epoch values of a skorch history, in recording order."""
    names = []
    for row in history:
        for key, value in row.items():
            if key in _NOT_METRICS or key.endswith("_batch_count") or key in names:
                continue
            if isinstance(value, Real) and not isinstance(value, (bool, np.bool_)):
                names.append(key)
    return names


def plot_history(estimator: BaseEstimator, metrics: str | Sequence[str] | None = None,
                 ax: Axes | None = None) -> Axes:
    """Plot the per-epoch training curves of a fitted estimator.

    Draws one line per metric of the estimator's skorch history
    (``estimator.history_``) against the epoch: by default the training
    loss and, when ``early_stopping=True`` held out validation data, the
    validation loss. Values recorded by callbacks (``EpochScoring``,
    learning-rate schedulers) are plotted when named in ``metrics``.

    Parameters
    ----------
    estimator : fitted estimator of sklearn_mlarch, or a Pipeline ending in one
        Any of the package's neural estimators (they keep the history in
        ``history_``). MAML estimators are plotted against meta-iterations.
    metrics : str or list of str, default=None
        Columns of the history to plot, e.g. ``['train_loss', 'valid_acc']``.
        None plots ``'train_loss'`` and ``'valid_loss'`` where recorded.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on, one line per metric, labelled with its name.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.
    ValueError
        When a metric is not in the history; the message lists those that are.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_mlarch import CNNClassifier
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> from sklearn_mlarch.plotting import plot_history
    >>> X, y = load_digits_images()
    >>> clf = CNNClassifier(channels=(8,), hidden_sizes=(16,), max_epochs=2,
    ...                     early_stopping=True, validation_fraction=0.2,
    ...                     random_state=0).fit(X[:100], y[:100])
    >>> ax = plot_history(clf)
    >>> [line.get_label() for line in ax.lines]
    ['train_loss', 'valid_loss']
    >>> len(ax.lines[0].get_ydata())  # one point per epoch
    2
    """
    owner = _history_owner(estimator)
    check_is_fitted(owner)
    history = owner.history_
    available = _recorded(history)
    if metrics is None:
        metrics = [m for m in ("train_loss", "valid_loss") if m in available]
    elif isinstance(metrics, str):
        metrics = [metrics]
    else:
        metrics = list(metrics)
        if not metrics or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"metrics must be a name or a non-empty list of names of the "
                             f"history's columns, got {metrics!r}. Recorded: {available}.")
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise ValueError(
            f"metrics {unknown} are not recorded in the history of this "
            f"{type(owner).__name__}; recorded: {available}. Validation metrics (valid_*) "
            "need early_stopping=True; others come from callbacks, e.g. "
            "callbacks=[EpochScoring('accuracy', on_train=True, name='train_acc')].")
    ax = _axes(ax)
    # MAML records the meta-iterations done at each row (an epoch holds up to 100)
    meta = all("meta_iter" in row for row in history)
    x = [row["meta_iter" if meta else "epoch"] for row in history]
    for name in metrics:
        ax.plot(x, [row.get(name, np.nan) for row in history], marker=".", label=name)
    ax.set_xlabel("meta-iterations" if meta else "epoch")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    ax.set_ylabel("loss" if all(m.endswith("_loss") for m in metrics) else "value")
    ax.set_title(f"{type(owner).__name__} training history")
    ax.legend()
    return ax


# ---------------------------------------------------------------- hyperband
def _same_params(a, b):
    if a.keys() != b.keys():
        return False
    for key in a:
        try:
            equal = a[key] == b[key]
            equal = bool(equal) if np.ndim(equal) == 0 else bool(np.all(equal))
        except (TypeError, ValueError):
            equal = a[key] is b[key]
        if not equal:
            return False
    return True


def _hyperband_candidates(results, resource):
    """Rows of each candidate, in rung order: ``[(bracket, [row, ...]), ...]``.

    ``cv_results_`` has one row per candidate per rung but no candidate
    column: a candidate is its bracket and its parameters without the
    resource (which the search sets per rung). A row joins the candidate of
    its bracket with the same parameters that has no row at that rung yet.
    """
    brackets, rungs = np.asarray(results["bracket"]), np.asarray(results["rung"])
    candidates = []
    for i in np.lexsort((np.arange(len(rungs)), rungs)):  # rung by rung, stable
        params = {k: v for k, v in results["params"][i].items() if k != resource}
        match = None
        if rungs[i] > 0:
            match = next((c for c in candidates
                          if c[0] == brackets[i] and rungs[c[2][-1]] == rungs[i] - 1
                          and _same_params(c[1], params)), None)
        if match is None:
            candidates.append((brackets[i], params, [i]))
        else:
            match[2].append(i)
    return [(bracket, rows) for bracket, _, rows in candidates]


def plot_hyperband(search: BaseEstimator, ax: Axes | None = None) -> Axes:
    """Plot the brackets and rungs of a fitted HyperbandSearchCV.

    Each candidate is a line of its mean cross-validated test score against
    the resource of the rungs it reached (a single marker for one rung),
    one colour per bracket; the resource axis is log-scaled, so the rungs
    of every bracket are evenly spaced. The best candidate is starred.

    Parameters
    ----------
    search : fitted HyperbandSearchCV
        Its ``cv_results_`` gives ``bracket``, ``rung``, ``n_resources`` and
        the mean test score (with several metrics, that of ``refit``, the
        one that promoted candidates).
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on: one line per candidate, in colour ``'C<i>'`` for
        the i-th bracket, labelled ``'bracket s=<s>'`` once per bracket.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn_mlarch.model_selection import HyperbandSearchCV
    >>> from sklearn_mlarch.plotting import plot_hyperband
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HyperbandSearchCV(SGDClassifier(tol=None, random_state=0),
    ...                            {"alpha": loguniform(1e-5, 1e-1)}, resource="max_iter",
    ...                            max_resource=9, random_state=0).fit(X, y)
    >>> ax = plot_hyperband(search)
    >>> len(ax.lines) == sum(n[0] for n in search.n_candidates_)  # one per candidate
    True
    >>> ax.get_xscale()
    'log'
    """
    from .model_selection import HyperbandSearchCV

    if not isinstance(search, HyperbandSearchCV):
        raise TypeError(f"search must be a fitted HyperbandSearchCV, got "
                        f"{type(search).__name__}. For other searches, plot their "
                        "cv_results_ directly.")
    check_is_fitted(search, "cv_results_")
    results = search.cv_results_
    metric = search.refit if search.multimetric_ else "score"
    column = f"mean_test_{metric}"
    if column not in results:
        raise ValueError(f"cv_results_ has no {column!r} column to plot; its test scores "
                         f"are {sorted(k for k in results if k.startswith('mean_test_'))}.")
    ax = _axes(ax)
    scores, resources = np.asarray(results[column], float), np.asarray(results["n_resources"])
    colours = {}
    for bracket, rows in _hyperband_candidates(results, search.resource):
        first = bracket not in colours
        colour = colours.setdefault(bracket, f"C{len(colours) % 10}")
        ax.plot(resources[rows], scores[rows], marker="o", color=colour, alpha=0.8,
                label=f"bracket s={bracket}" if first else "_nolegend_")
    best = getattr(search, "best_index_", None)
    if best is not None:
        ax.scatter([resources[best]], [scores[best]], marker="*", s=250, color="gold",
                   edgecolors="black", zorder=3, label="best")
    ax.set_xscale("log")
    ticks = np.unique(resources)
    ax.set_xticks(ticks, labels=[str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(f"{search.resource} (log scale)")
    ax.set_ylabel(f"mean test {metric}")
    n_candidates = sum(1 for r in np.asarray(results["rung"]) if r == 0)
    ax.set_title(f"Hyperband: {len(colours)} bracket{'s' * (len(colours) > 1)}, "
                 f"{n_candidates} candidates")
    ax.legend()
    return ax


# ---------------------------------------------------------------- adaptation
_ADAPTATION_KEYS = ("steps", "mean", "ci95", "metric")
_METRIC_LABELS = {"mse": "query mean squared error (lower is better)",
                  "accuracy": "query accuracy (higher is better)"}


def _check_adaptation(result, label):
    where = "results" if label is None else f"results[{label!r}]"
    if not isinstance(result, Mapping) or not all(k in result for k in _ADAPTATION_KEYS):
        raise TypeError(
            f"{where} must be a dict returned by sklearn_mlarch.meta_learning."
            f"evaluate_adaptation (keys {list(_ADAPTATION_KEYS)}), or results a mapping "
            f"label -> such dict, e.g. {{'MAML': res1, 'FOMAML': res2}}; got "
            + (f"keys {sorted(map(str, result))}." if isinstance(result, Mapping)
               else f"{type(result).__name__}."))
    steps = np.asarray(result["steps"], dtype=float).ravel()
    mean = np.asarray(result["mean"], dtype=float).ravel()
    ci95 = np.asarray(result["ci95"], dtype=float).ravel()
    if not len(steps) == len(mean) == len(ci95) or not len(steps):
        raise ValueError(f"{where} has {len(steps)} steps, {len(mean)} means and {len(ci95)} "
                         "ci95 values; they must be as many (one per number of steps), "
                         "as evaluate_adaptation returns them.")
    return steps, mean, ci95, result["metric"]


def plot_adaptation(results: Mapping[str, Any], ax: Axes | None = None) -> Axes:
    """Plot a meta-learner's query score against the number of adaptation steps.

    Draws the mean over tasks with error bars of its 95 % interval, as
    :func:`~sklearn_mlarch.meta_learning.evaluate_adaptation` returns them;
    several results (MAML against first-order MAML, against a network
    pre-trained on all tasks...) share one Axes.

    Parameters
    ----------
    results : dict, or mapping of str to dict
        One result of ``evaluate_adaptation`` (keys ``steps``, ``mean``,
        ``ci95`` and ``metric``), or a mapping label -> result, e.g.
        ``{'MAML': res1, 'FOMAML': res2}``; all with the same metric.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on: one errorbar container per result (in
        ``ax.containers``), labelled with its key.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_mlarch.plotting import plot_adaptation

    Results as ``evaluate_adaptation(maml, SinusoidTasks(), steps=[0, 1, 10])``
    returns them:

    >>> maml = {"steps": [0, 1, 10], "mean": [3.1, 0.9, 0.4],
    ...         "ci95": [0.3, 0.1, 0.05], "metric": "mse"}
    >>> fomaml = {"steps": [0, 1, 10], "mean": [3.0, 1.2, 0.6],
    ...           "ci95": [0.3, 0.1, 0.06], "metric": "mse"}
    >>> ax = plot_adaptation({"MAML": maml, "FOMAML": fomaml})
    >>> [c.get_label() for c in ax.containers]
    ['MAML', 'FOMAML']
    """
    if isinstance(results, Mapping) and all(k in results for k in _ADAPTATION_KEYS):
        entries = {None: _check_adaptation(results, None)}
    elif isinstance(results, Mapping) and results:
        entries = {label: _check_adaptation(r, label) for label, r in results.items()}
    else:
        raise TypeError(
            "results must be a dict returned by sklearn_mlarch.meta_learning."
            "evaluate_adaptation, or a non-empty mapping label -> such dict, e.g. "
            f"{{'MAML': res1, 'FOMAML': res2}}; got {type(results).__name__}"
            + (" (empty)." if isinstance(results, Mapping) else "."))
    metrics = {entry[3] for entry in entries.values()}
    if len(metrics) > 1:
        raise ValueError(f"results mix metrics {sorted(metrics)}, which cannot share one "
                         "y axis: plot each metric on its own Axes (ax=...).")
    ax = _axes(ax)
    for label, (steps, mean, ci95, _) in entries.items():
        ax.errorbar(steps, mean, yerr=ci95, marker="o", capsize=4,
                    label="_nolegend_" if label is None else str(label))
    metric = metrics.pop()
    ticks = np.unique(np.concatenate([entry[0] for entry in entries.values()]))
    ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.set_xlabel("adaptation steps")
    ax.set_ylabel(_METRIC_LABELS.get(metric, str(metric)))
    ax.set_title("Adaptation to new tasks (mean and 95% interval)")
    if None not in entries:
        ax.legend()
    return ax


# --------------------------------------------------------------- multi-task
def plot_task_scores(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike,
                     ax: Axes | None = None,
                     baseline: ArrayLike | Mapping[str, ArrayLike] | None = None,
                     fmt: str = "%.3f") -> Axes:
    """Plot the score of each task of a fitted multi-task estimator as bars.

    The heights are ``estimator.score_tasks(X, y)``: accuracy for a
    classification task, R² for a regression task, each on its labelled
    samples (NaN, no bar, for a task without a label in ``y``).

    Parameters
    ----------
    estimator : fitted MultiTaskClassifier or MultiTaskRegressor
    X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        Data to score on, usually held out.
    y : array-like of shape (n_samples, n_tasks)
        True targets, one column per task; missing entries are left out.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.
    baseline : array-like of shape (n_tasks,) or mapping of str to such, default=None
        Scores of other models on the same tasks (say, one single-task model
        per task), drawn as bars beside each task's bar: a mapping
        ``label -> scores`` names them in the legend, an array is labelled
        ``'baseline'``. None draws the estimator's bars only.
    fmt : str, default='%.3f'
        Format of the score written on each bar; e.g. ``'%.2f'`` where the
        test set supports 2 decimals only.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on: one bar per task (``ax.patches``), named by
        ``estimator.task_names_`` and labelled with its score; with a
        baseline, the estimator's bars first, then each baseline's, and a
        legend.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mlarch import FeedForwardRegressor, MultiTaskRegressor
    >>> from sklearn_mlarch.plotting import plot_task_scores
    >>> X = np.random.RandomState(0).rand(100, 6)
    >>> Y = np.c_[X.sum(axis=1), X[:, 0] - X[:, 1]]
    >>> reg = MultiTaskRegressor(FeedForwardRegressor(max_epochs=3), random_state=0).fit(X, Y)
    >>> ax = plot_task_scores(reg, X, Y)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['task0', 'task1']
    """
    if not (hasattr(estimator, "score_tasks") and hasattr(type(estimator), "fit")):
        raise TypeError(f"estimator must be a fitted MultiTaskClassifier or "
                        f"MultiTaskRegressor (with score_tasks), got "
                        f"{type(estimator).__name__}.")
    check_is_fitted(estimator)
    scores = np.asarray(estimator.score_tasks(X, y), dtype=float)
    names = [str(name) for name in estimator.task_names_]
    others = _baselines(baseline, len(names))
    ax = _axes(ax)
    if not others:
        bars = ax.bar(names, scores, color=[f"C{i % 10}" for i in range(len(names))])
        ax.bar_label(bars, fmt=fmt)
    else:
        series = [(type(estimator).__name__, scores)] + others
        width = 0.8 / len(series)
        x = np.arange(len(names))
        for i, (label, values) in enumerate(series):
            bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width,
                          color=f"C{i % 10}", label=label)
            ax.bar_label(bars, fmt=fmt)
        ax.set_xticks(x, labels=names)
        top = np.nanmax([np.nanmax(v) for _, v in series] + [0])
        if np.isfinite(top) and top > 0:
            ax.set_ylim(top=1.3 * top)  # room for the legend above the bars
        ax.legend(loc="upper center", ncols=len(series), fontsize="small")
    targets = getattr(estimator, "targets_", None)
    kinds = set(targets.task_kinds()) if hasattr(targets, "task_kinds") else set()
    ax.set_ylabel("accuracy" if kinds == {"classification"} else
                  "R²" if kinds == {"regression"} else "score (accuracy or R²)")
    ax.set_xlabel("task")
    ax.set_title(f"{type(estimator).__name__}: score per task")
    return ax


def _baselines(baseline, n_tasks):
    """``[(label, scores), ...]`` of ``plot_task_scores``'s ``baseline``, checked."""
    if baseline is None:
        return []
    items = baseline.items() if isinstance(baseline, Mapping) else [("baseline", baseline)]
    out = []
    for label, values in items:
        values = np.asarray(values, dtype=float).ravel()
        if len(values) != n_tasks:
            raise ValueError(f"baseline {label!r} has {len(values)} scores; it needs one per "
                             f"task of the estimator ({n_tasks}), in the order of "
                             "task_names_.")
        out.append((str(label), values))
    return out
