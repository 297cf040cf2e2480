"""A bracket's state, and how its candidates are trained and recorded at a rung.

:class:`Bracket` holds what one bracket knows during a search; :class:`Trainer`
builds the fold fits of a candidate at a resource (continuing its models
where the continuation mode allows) and records their results as one row of
``cv_results_``. Neither decides which candidates run: the schedulers do,
through the pure functions of ``_schedule``.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection._validation import _insert_error_scores

from ._continuation import supports_partial_fit, warm_start_key
from ._engines import FoldFit

#: the columns of cv_results_ a search adds to those of RandomizedSearchCV
MORE_COLUMNS = ("bracket", "rung", "n_resources", "resource_spent", "continuation")


def metric_value(test_scores, metric, refit):
    """The score that ranks candidates for promotion."""
    if not isinstance(test_scores, dict):
        return test_scores
    if metric in test_scores:
        return test_scores[metric]
    if isinstance(refit, str) and refit in test_scores:  # a callable returned several
        return test_scores[refit]
    raise ValueError(
        f"scoring returned several metrics {sorted(test_scores)}: HyperbandSearchCV promotes "
        "candidates by one of them. Pass refit='<metric name>' to say which.")


@dataclass(eq=False)
class Bracket:
    """The state of one bracket during a search (for ASHA: of its one ladder of rungs).

    A candidate is named by its position in ``candidates``. Fields:

    index : int
        Position of the bracket in the schedule, 0 for the most aggressive
        one (shown by ``verbose``).
    s : int
        Hyperband's ``s`` of the bracket: ``cv_results_['bracket']``.
    rungs : list of (int, int)
        ``(n_i, r_i)`` per rung: how many candidates the rung evaluates, and
        at which integer resource (:func:`~._schedule.integer_rungs`).
    rung : int
        The next rung to run (wave scheduler); ``len(rungs)`` once done.
    candidates : list of dict
        The parameters of every candidate proposed to the bracket.
    alive : list of int
        The candidates the next rung evaluates: at first all of them, then
        those promoted, best first.
    models : dict
        ``(candidate, fold) -> model`` fitted at the candidate's last rung,
        to continue at the next one (a Dask future where models stay on the
        workers; None where the candidate is refitted). An eliminated
        candidate's models are dropped as soon as its rung ends.
    trained : dict
        ``candidate -> resource`` its models were last trained to (0 before).
    cand_modes : dict
        ``candidate -> mode``: with ``partial_fit`` continuation, whether the
        candidate can be continued that way or is refitted (cached).
    modes : dict
        ``candidate -> 'new' or mode``: how the candidate's latest unit of
        fits trains (``cv_results_['continuation']``).
    pending_spent : dict
        ``candidate -> resource`` its unit of fits in progress spends, per
        fold, until its results are recorded.
    spent : float
        Resource the bracket has spent, per fold (``total_resource_``).
    params, out, more :
        The bracket's rows of ``cv_results_``, one per candidate and rung in
        the order recorded: the parameters shown (the resource included),
        the per-fold results of ``_fit_and_score``, and the columns of
        :data:`MORE_COLUMNS`.
    summary : dict
        The bracket's entry of ``brackets_``: ``s``, ``n_candidates`` and
        ``n_resources`` per rung; for ASHA also ``finished``, the
        ``(candidate, rung)`` units in the order they finished.
    """

    index: int
    s: int
    rungs: list
    rung: int = 0
    candidates: list = field(default_factory=list)
    alive: list = field(default_factory=list)
    models: dict = field(default_factory=dict)
    trained: dict = field(default_factory=lambda: defaultdict(int))
    cand_modes: dict = field(default_factory=dict)
    modes: dict = field(default_factory=dict)
    pending_spent: dict = field(default_factory=dict)
    spent: float = 0.0
    params: list = field(default_factory=list)
    out: list = field(default_factory=list)
    more: dict = field(default_factory=lambda: defaultdict(list))
    summary: dict = None

    def __post_init__(self):
        if self.summary is None:
            self.summary = {"s": self.s, "n_candidates": [], "n_resources": []}

    @property
    def done(self):
        return self.rung >= len(self.rungs)

    def release(self, candidates, n_splits):
        """Drop the per-fold models of ``candidates``: they train no more."""
        for c in candidates:
            for k in range(n_splits):
                self.models.pop((c, k), None)


class Trainer:
    """What every rung of one search shares (data, folds, base estimator, settings),
    and how a candidate's fold fits are built and their results recorded."""

    def __init__(self, search, base, X, y, splits, subsets, fit_kwargs, metric, classes):
        self.search, self.base, self.X, self.y = search, base, X, y
        self.splits, self.subsets, self.fit_kwargs = splits, subsets, fit_kwargs
        self.metric, self.classes = metric, classes
        self.mode = search.continuation_
        self.resource = search.resource
        self.warm_key = warm_start_key(base, self.resource)
        self.default_warm = base.get_params().get(self.warm_key)

    @property
    def n_splits(self):
        return len(self.splits)

    def mode_of(self, br, c):
        """The continuation mode of candidate ``c``: the search's, or 'refit' for a
        candidate whose settings refuse ``partial_fit`` (MLP's lbfgs solver...)."""
        if self.mode != "partial_fit":
            return self.mode
        if c not in br.cand_modes:
            est = clone(self.base).set_params(**br.candidates[c])
            br.cand_modes[c] = "partial_fit" if supports_partial_fit(est) else "refit"
        return br.cand_modes[c]

    def fold_fit(self, br, c, k, r, progress):
        """The :class:`FoldFit` of candidate ``c`` on fold ``k`` at resource ``r``,
        and whether it continues a model."""
        prev, cand = br.models.get((c, k)), br.candidates[c]
        mode = self.mode_of(br, c)
        continued = prev is not None and mode != "refit"
        train, test = self.splits[k]
        if self.subsets is not None:
            train = self.subsets[k][:r]
        common = dict(train=train, test=test, split_progress=(k, self.n_splits),
                      candidate_progress=progress)
        if mode == "partial_fit":
            # the wrapper is built where the fit runs (the model may be a
            # future of a model on a Dask worker)
            extra = r - br.trained[c] if continued else r
            inner = prev if continued else clone(self.base).set_params(**cand)
            return FoldFit(inner, partial_fit=(extra, self.classes), **common), continued
        after = ({} if mode == "refit"
                 else {self.resource: r, self.warm_key: self.default_warm})
        if continued:
            extra = r - br.trained[c] if mode == "resume" else r
            return FoldFit(prev, parameters={self.resource: extra, self.warm_key: True},
                           after_fit=after, **common), True
        params = dict(cand)
        if self.resource != "n_samples":
            params[self.resource] = r
        return FoldFit(clone(self.base), parameters=params, after_fit=after, **common), False

    def unit(self, br, c, r, progress):
        """The fold fits of candidate ``c`` at ``r``; records the resource they spend."""
        fits, spent = [], 0.0
        for k in range(self.n_splits):
            fit, continued = self.fold_fit(br, c, k, r, progress)
            # per fold: a fold that failed before restarts from scratch
            spent += (r - br.trained[c] if continued else r) / self.n_splits
            br.modes[c] = self.mode_of(br, c) if continued else "new"
            fits.append(fit)
        br.pending_spent[c] = spent
        return fits

    def record(self, br, c, r, rung, outcomes):
        """Keep candidate ``c``'s fold results and models at ``r`` as one row;
        return its mean score on the promotion metric."""
        for k, (result, model) in enumerate(outcomes):
            br.models[(c, k)] = None if self.mode_of(br, c) == "refit" else model
        out = [result for result, _ in outcomes]
        if callable(self.search.scoring):
            _insert_error_scores(out, self.search.error_score)
        br.trained[c] = r
        shown = dict(br.candidates[c])
        if self.resource != "n_samples":
            shown[self.resource] = r
        br.params.append(shown)
        spent = br.pending_spent.pop(c)
        for key, value in (("bracket", br.s), ("rung", rung), ("n_resources", r),
                           ("continuation", br.modes[c]), ("resource_spent", spent)):
            br.more[key].append(value)
        br.spent += spent
        br.out.extend(out)
        return float(np.mean([metric_value(o["test_scores"], self.metric, self.search.refit)
                              for o in out]))
