"""HyperbandSearchCV: Hyperband over cross-validated candidates, with continuation.

The search is split by responsibility, as dask-ml splits its Hyperband:

- ``_schedule``: pure functions: the bracket schedule, its integer rungs,
  and :func:`~._schedule.promote` (which candidates of a rung go on);
- ``_bracket``: a bracket's state, and how a candidate's fold fits are
  built (continued or fresh) and recorded as rows of ``cv_results_``;
- ``_schedulers``: when fits run and promotion is called: in waves of every
  bracket's next rung, or asynchronously (ASHA);
- this module: the estimator: parameters, checks, the results and the refit.
"""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numbers

import numpy as np
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (_insert_error_scores,
                                                 _warn_or_raise_about_fit_failures)
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_method_params

from ._bracket import MORE_COLUMNS, Trainer
from ._continuation import (MODES, PartialFitSteps, check_continuation, classes_for,
                            supports_partial_fit)
from ._engines import make_engine
from ._proposals import OptunaProposals, RandomProposals
from ._schedule import hyperband_schedule
from ._schedulers import run_async, run_waves

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self


# parameters that usually measure a training budget, suggested as resources
_RESOURCES = ("max_epochs", "max_iter", "n_estimators", "n_meta_iter")
_NO_RESOURCE = "none of " + ", ".join(_RESOURCES)


class HyperbandSearchCV(BaseSearchCV):
    """Hyperband search over cross-validated candidates, with continuation.

    Runs the brackets of Hyperband (Li et al., "Hyperband: A Novel
    Bandit-Based Approach to Hyperparameter Optimization", JMLR 18(185),
    2018, Algorithm 1): each bracket samples configurations like
    :class:`~sklearn.model_selection.RandomizedSearchCV` and runs successive
    halving on them, evaluating every survivor with cross-validation at a
    growing resource (epochs, iterations, trees or samples) and promoting the
    best ``1 / eta``. Every bracket ends at ``max_resource``.

    Continuation is declared, not guessed (``continuation='auto'``): a
    promoted candidate keeps training its per-fold models only where the
    estimator and resource say how. The package's estimators resume by the
    missing epochs (``max_epochs``; exact: the continued model is the model
    trained fresh for the larger budget, bit for bit); scikit-learn's SGD,
    perceptron, passive-aggressive and MLP estimators continue through
    ``partial_fit`` (``max_iter``; one call per unit, optimizer state
    carried over); its forests, boosting and bagging ensembles grow
    (``n_estimators``). Every other resource, and ``'n_samples'``, is
    refitted at each rung. ``cv_results_['continuation']`` says, per row,
    how the models were trained (``'new'`` or the mode);
    :func:`~sklearn_mlarch.model_selection.declared_continuation` gives the
    mode of any estimator. A Pipeline step's resource
    (``'cnnclassifier__max_epochs'``) follows that step's declaration.

    Rounded resources can repeat within a bracket (``eta=1.2,
    max_resource=3`` gives rungs 1, 1, 1, 2, 2, 3, 3): repeated rungs are
    merged into one, so every rung trains something.

    Scheduling: by default (``scheduler='parallel'``) every bracket is in
    flight at once, as in dask-ml's Hyperband: each wave of fits holds the
    next rung of every bracket still running, so ``n_jobs`` workers have
    several times more fits to share than one rung gives them. The results
    are those of running the brackets one after another
    (``scheduler='brackets'``), the same candidates and scores for a fixed
    ``random_state``; with an Optuna ``sampler``, which learns from earlier
    brackets, they run one after another. Models of eliminated candidates
    are released as soon as a rung ends.

    ``fit`` orchestrates the rungs itself rather than through
    ``BaseSearchCV._run_search``, because continuation needs the fitted
    per-fold models back from the workers; fitting and scoring use
    scikit-learn's ``_fit_and_score`` and the results its ``_format_results``.

    Parameters
    ----------
    estimator : estimator object
        The model to tune.
    param_distributions : dict or list of dict
        As for :class:`~sklearn.model_selection.RandomizedSearchCV`: lists
        (sampled uniformly) or scipy.stats distributions. Must not contain
        ``resource``.
    resource : str, default='max_epochs'
        The estimator parameter that grows along the rungs, or ``'n_samples'``
        for the number of training samples of each fold.
    max_resource : int or 'auto', default='auto'
        The resource of the last rung; ``'auto'`` takes the estimator's
        current value of ``resource`` (the smallest training fold for
        ``'n_samples'``).
    min_resource : int or 'auto', default='auto'
        The unit of resource: 1, or for ``'n_samples'`` ``2 * n_splits``
        (times the number of classes for classifiers), as
        :class:`~sklearn.model_selection.HalvingRandomSearchCV` does.
    eta : float, default=3
        Halving rate: a rung keeps the best ``1 / eta`` of its candidates.
    scoring : str, callable, list, tuple or dict, default=None
        As for :class:`~sklearn.model_selection.GridSearchCV`; with several
        metrics, ``refit`` names the one used for promotion and selection.
    n_jobs : int, default=None
        Parallel fits (one per candidate and fold) through joblib; process
        workers split the cores between them.
    refit : bool, str or callable, default=True
        Refit the best candidate at ``max_resource`` on all the data (through
        ``partial_fit`` when the search continued that way). Only rows at
        ``max_resource`` compete: a callable is given ``cv_results_``
        restricted to them and returns an index into that subset. With
        several metrics, ``refit`` must name the one that promotes
        candidates and picks the best.
    cv : int, cross-validation generator or iterable, default=None
        As for :class:`~sklearn.model_selection.GridSearchCV`. The folds are
        drawn once and kept for every rung, which continuation needs.
    verbose : int, default=0
        1 prints a line when each rung starts and ends (for
        ``scheduler='async'``, each candidate's rung), with the time elapsed,
        the fits done (of those planned) and the best mean score, named by
        the metric; more is passed to the fits.
    pre_dispatch : int or str, default='2*n_jobs'
        As for :class:`~sklearn.model_selection.GridSearchCV`.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates (and of sample subsets for
        ``'n_samples'``).
    error_score : 'raise' or float, default=np.nan
        Score given to a fit that raises (or whose loss diverges); the search
        goes on with a warning, and the candidate is not promoted.
    return_train_score : bool, default=False
        Also record scores on the training folds.
    sampler : optuna sampler or None, default=None
        Propose candidates with an Optuna sampler instead of random sampling,
        e.g. ``optuna.samplers.TPESampler(seed=0)`` (needs optuna). Each
        candidate is told the score of the last rung it reached, so later
        brackets sample from what earlier ones learnt, as in BOHB (Falkner et
        al., ICML 2018). ``param_distributions`` must then be one dict of
        lists and bounded scipy.stats distributions.
    continuation : {'auto', 'resume', 'partial_fit', 'grow', 'refit'}, default='auto'
        How a promoted candidate reaches the next rung's resource: the mode
        the estimator declares for ``resource`` (``'auto'``, see above), or
        one named for an estimator of your own: ``'resume'`` (``warm_start``
        with the missing amount), ``'partial_fit'`` (that many calls),
        ``'grow'`` (``warm_start`` with the new total) or ``'refit'``.
    scheduler : {'parallel', 'brackets', 'async'}, default='parallel'
        All brackets in flight at once, or one after another (same
        results), or asynchronous successive halving (ASHA): one ladder of
        rungs whose candidates are promoted as soon as they rank in the top
        ``1 / eta`` of their rung's results so far; its results depend on
        the order fits finish.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        One row per candidate per rung, with the columns of
        ``RandomizedSearchCV`` plus ``bracket`` (its ``s``: the bracket
        ``brackets_[s_max - s]``), ``rung``, ``n_resources``
        (the resource of the rung), ``resource_spent`` (resource trained
        at this rung, per fold: less than ``n_resources`` when continued)
        and ``continuation`` (``'new'``, or how the models continued).
    best_estimator_ : estimator
        The best candidate refitted on all the data.
    best_score_ : float
        Mean cross-validated score of the best candidate at ``max_resource``.
    best_params_ : dict
        Its parameters (with ``resource`` at ``max_resource``).
    best_index_ : int
        Its row in ``cv_results_``; only rows at ``max_resource`` compete.
    total_resource_ : float
        Resource spent by the whole search per fold (epochs, for the
        package's estimators); the refit is not counted.
    brackets_ : list of dict
        Per bracket: ``s``, the number of candidates and the resource of each
        rung; with ``scheduler='async'`` (one bracket) also ``finished``, the
        ``(candidate, rung)`` units in the order they finished.
    n_resources_, n_candidates_ : list of list of int
        As in :class:`~sklearn.model_selection.HalvingRandomSearchCV`, per
        bracket: the resource and the number of candidates of each rung.
    continuation_ : str
        The continuation mode used.
    n_waves_ : int
        Number of waves of parallel fits the search ran.
    min_resource_, max_resource_ : int
        The resolved bounds.
    n_splits_ : int
        Number of cross-validation folds.
    multimetric_ : bool
        Whether several metrics were used.
    scorer_ : callable or dict
        The scorer(s).
    refit_time_ : float
        Seconds spent refitting the best candidate.

    See Also
    --------
    sklearn.model_selection.RandomizedSearchCV : every candidate at full budget.
    sklearn.model_selection.HalvingRandomSearchCV : one bracket, refitting at every rung.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_mlarch.model_selection import HyperbandSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HyperbandSearchCV(SGDClassifier(tol=None, random_state=0),
    ...                            {"alpha": loguniform(1e-5, 1e-1)}, resource="max_iter",
    ...                            max_resource=9, random_state=0).fit(X, y)
    >>> [len(b["n_candidates"]) for b in search.brackets_]
    [3, 2, 1]
    >>> search.best_params_["max_iter"]
    9
    """

    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "resource": [str],
        "max_resource": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "min_resource": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "eta": [Interval(Real, 1, None, closed="neither")],
        "random_state": ["random_state"],
        "sampler": [None, HasMethods(["sample_independent", "sample_relative"])],
        "continuation": [StrOptions({"auto", *MODES})],
        "scheduler": [StrOptions({"parallel", "brackets", "async"})],
    }

    def __init__(self, estimator, param_distributions, *, resource="max_epochs",
                 max_resource="auto", min_resource="auto", eta=3, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs", random_state=None,
                 error_score=np.nan, return_train_score=False, sampler=None,
                 continuation="auto", scheduler="parallel"):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.resource = resource
        self.max_resource = max_resource
        self.min_resource = min_resource
        self.eta = eta
        self.random_state = random_state
        self.sampler = sampler
        self.continuation = continuation
        self.scheduler = scheduler

    @classmethod
    def _get_test_params(cls):
        """A small search for the test suite and the compatibility checks."""
        from ..neural_network import CNNClassifier

        cnn = CNNClassifier(**{**CNNClassifier._get_test_params(), "max_epochs": 16},
                            random_state=0)
        return dict(estimator=cnn, param_distributions={"lr": [2e-2, 3e-2]},
                    min_resource=8, max_resource=16, eta=2, cv=2)

    # ------------------------------------------------------------------ setup
    def _check_resource(self, y, splits):
        distributions = (self.param_distributions if isinstance(self.param_distributions, list)
                         else [self.param_distributions])
        if any(self.resource in d for d in distributions):
            raise ValueError(f"resource={self.resource!r} is also in param_distributions; "
                             "the search sets it itself: remove it from param_distributions.")
        if self.resource == "n_samples":
            max_r = min(len(train) for train, _ in splits)
            min_r = 2 * len(splits)
            if is_classifier(self.estimator):
                min_r *= len(np.unique(y))
        else:
            params = self.estimator.get_params()
            if self.resource not in params:
                known = [name for name, value in params.items()
                         if isinstance(value, numbers.Integral) and not isinstance(value, bool)
                         and name.rsplit("__", 1)[-1] in _RESOURCES]
                raise ValueError(
                    f"resource={self.resource!r} is not a parameter of "
                    f"{type(self.estimator).__name__}; pass one of its integer parameters "
                    f"({', '.join(map(repr, known)) or _NO_RESOURCE}) or 'n_samples'.")
            max_r, min_r = params[self.resource], 1
        if self.resource == "n_samples" and self.max_resource != "auto" and \
                self.max_resource > max_r:
            raise ValueError(
                f"max_resource={self.max_resource} samples, but the smallest training fold "
                f"has {max_r}: the last rungs would silently train on fewer. Pass "
                f"max_resource <= {max_r} or 'auto'.")
        max_r = max_r if self.max_resource == "auto" else self.max_resource
        min_r = min_r if self.min_resource == "auto" else self.min_resource
        if max_r == "auto":
            raise ValueError(
                f"{type(self.estimator).__name__} has {self.resource}='auto', which is "
                "resolved from the data at fit: pass max_resource (e.g. max_resource=27).")
        if not isinstance(max_r, Integral) or max_r < min_r:
            raise ValueError(
                f"max_resource ({max_r!r}) must be an integer >= min_resource ({min_r}"
                + (", for 'n_samples' 2 x n_splits x n_classes" if self.resource == "n_samples"
                   and self.min_resource == "auto" else "")
                + "): raise max_resource or lower min_resource.")
        return int(min_r), int(max_r)

    def _promotion_metric(self, scorers, refit_metric):
        if isinstance(refit_metric, str):
            return refit_metric
        return sorted(scorers._scorers)[0] if hasattr(scorers, "_scorers") else "score"

    # ------------------------------------------------------------------ search
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: ArrayLike, y: ArrayLike | None = None, **params) -> Self:
        """Run Hyperband with cross-validation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        **params : dict
            Fit parameters of the estimator (sample-aligned ones are split with
            the folds) and ``groups`` for the splitter.

        Returns
        -------
        self : object
        """
        self._check_promotion()
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        self.min_resource_, self.max_resource_ = self._check_resource(y, splits)
        self.continuation_ = check_continuation(self.estimator, self.resource,
                                                self.continuation)
        rng = check_random_state(self.random_state)
        proposals = (RandomProposals(self.param_distributions, rng) if self.sampler is None
                     else OptunaProposals(self.param_distributions,
                                          copy.deepcopy(self.sampler)))
        subsets = ([rng.permutation(train) for train, _ in splits]
                   if self.resource == "n_samples" else None)
        fit_kwargs = dict(scorer=scorers, fit_params=routed.estimator.fit,
                          score_params=routed.scorer.score,
                          return_train_score=self.return_train_score,
                          return_n_test_samples=True, return_times=True,
                          return_estimator=True, error_score=self.error_score,
                          verbose=max(self.verbose - 1, 0))
        trainer = Trainer(search=self, base=clone(self.estimator), X=X, y=y, splits=splits,
                          subsets=subsets, fit_kwargs=fit_kwargs,
                          metric=self._promotion_metric(scorers, refit_metric),
                          classes=classes_for(self.estimator, y))
        schedule = hyperband_schedule(self.max_resource_ / self.min_resource_, self.eta)
        scheduler = run_async if self.scheduler == "async" else run_waves
        with make_engine(X, y, fit_kwargs, self.n_jobs, self.pre_dispatch) as engine:
            brackets, self.n_waves_ = scheduler(self, engine, trainer, proposals, schedule)

        all_out = [o for br in brackets for o in br.out]
        # once for the whole search: one rung of failures must not stop the others
        _warn_or_raise_about_fit_failures(all_out, self.error_score)
        if callable(self.scoring):  # metric names from any fit that succeeded
            _insert_error_scores(all_out, self.error_score)
        more = {key: [v for br in brackets for v in br.more[key]] for key in MORE_COLUMNS}
        results = self._format_results([p for br in brackets for p in br.params],
                                       self.n_splits_, all_out, more)
        self.brackets_ = [br.summary for br in brackets]
        self.n_resources_ = [br.summary["n_resources"] for br in brackets]
        self.n_candidates_ = [br.summary["n_candidates"] for br in brackets]
        self.total_resource_ = float(sum(br.spent for br in brackets))
        self._finish(X, y, routed, scorers, refit_metric, results, all_out, trainer.classes)
        return self

    def _finish(self, X, y, routed, scorers, refit_metric, results, all_out, classes):
        """Best candidate, refit and the attributes of BaseSearchCV."""
        first_test_score = all_out[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            params = clone(self.best_params_, safe=False)
            start = time.time()
            best = clone(self.estimator).set_params(**params)
            if self.continuation_ == "partial_fit" and supports_partial_fit(best):
                # trained as the search trained it: max_resource partial_fit calls;
                # its max_iter then says so (a clone's fit trains that many epochs)
                PartialFitSteps(best, self.max_resource_, classes).fit(
                    X, y, **routed.estimator.fit)
            else:
                if y is not None:
                    best.fit(X, y, **routed.estimator.fit)
                else:
                    best.fit(X, **routed.estimator.fit)
            self.refit_time_ = time.time() - start
            self.best_estimator_ = best
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorers._scorers if hasattr(scorers, "_scorers") else scorers
        self.cv_results_ = results

    def _check_promotion(self):
        """Several metrics: ``refit`` must name the one that promotes candidates."""
        if isinstance(self.scoring, (list, tuple, set, dict)) and not isinstance(self.refit, str):
            raise ValueError(
                "With several metrics, HyperbandSearchCV promotes candidates from rung to "
                "rung by one of them: pass refit='<metric name>' (it also picks the best "
                f"candidate), one of {sorted(self.scoring)}. refit=True, False or a callable "
                "cannot say which metric promotes.")

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        """Best row among those evaluated at the full resource.

        A callable ``refit`` is given only those rows (``cv_results_``
        restricted to them); the index it returns is into that subset.
        """
        full = np.flatnonzero(results["n_resources"] == np.max(results["n_resources"]))
        if callable(refit):
            n_rows = len(results["params"])
            subset = {k: (v[full] if isinstance(v, np.ndarray) and len(v) == n_rows
                          else [v[i] for i in full] if isinstance(v, list) and len(v) == n_rows
                          else v) for k, v in results.items()}
            return int(full[BaseSearchCV._select_best_index(refit, refit_metric, subset)])
        scores = results[f"mean_test_{refit_metric}"][full]
        return int(full[0] if np.isnan(scores).all() else full[np.nanargmax(scores)])
