"""HyperbandSearchCV: Hyperband over cross-validated candidates, with continuation."""

import copy
import time
from collections import defaultdict
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (_fit_and_score, _insert_error_scores,
                                                 _warn_or_raise_about_fit_failures)
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params

from ._proposals import OptunaProposals, RandomProposals
from ._schedule import hyperband_schedule


def _continuation_mode(estimator, resource):
    """How a promoted candidate reaches a larger resource.

    'additive': ``warm_start=True`` with ``resource = r - r_prev`` trains the
    missing part (epochs, iterations); 'total': ``warm_start=True`` with
    ``resource = r`` grows the model to ``r`` (trees of an ensemble);
    'refit': train anew at ``r``.
    """
    if resource == "n_samples":
        return "refit"
    params = estimator.get_params()
    owner, prefix = estimator, ""
    if "__" in resource:  # a step of a Pipeline or a nested estimator
        prefix = resource.rsplit("__", 1)[0] + "__"
        owner = params.get(prefix[:-2], estimator)
    if prefix + "warm_start" not in params:
        return "refit"
    if type(owner).__module__.startswith("sklearn.ensemble"):
        return "total"  # n_estimators, HistGradientBoosting's max_iter: model size
    return "additive"


def _metric_value(test_scores, metric, refit):
    """The score that ranks candidates for promotion."""
    if not isinstance(test_scores, dict):
        return test_scores
    if metric in test_scores:
        return test_scores[metric]
    # a callable scoring returned several metrics: refit names one, else the first
    return test_scores[refit if refit in test_scores else sorted(test_scores)[0]]


def _warm_start_key(resource):
    return resource.rsplit("__", 1)[0] + "__warm_start" if "__" in resource else "warm_start"


class HyperbandSearchCV(BaseSearchCV):
    """Hyperband search over cross-validated candidates, with continuation.

    Runs the brackets of Hyperband (Li et al., "Hyperband: A Novel
    Bandit-Based Approach to Hyperparameter Optimization", JMLR 18(185),
    2018, Algorithm 1): each bracket samples configurations like
    :class:`~sklearn.model_selection.RandomizedSearchCV` and runs successive
    halving on them, evaluating every survivor with cross-validation at a
    growing resource (epochs, iterations, trees or samples) and promoting the
    best ``1 / eta``. Every bracket ends at ``max_resource``.

    Continuation: when the estimator has ``warm_start``, a promoted candidate
    keeps training its per-fold models from where they stopped instead of
    starting again, so each bracket spends exactly its Algorithm 1 budget.
    The package's estimators and scikit-learn's ``SGDClassifier`` or
    ``MLPClassifier`` continue by the missing epochs (``resource='max_epochs'``
    or ``'max_iter'``); scikit-learn ensembles grow to the new size
    (``resource='n_estimators'``). A resource of a Pipeline step
    (``'cnnclassifier__max_epochs'``) continues through that step's
    ``warm_start``. Other estimators, and ``resource='n_samples'``, are
    refitted at each rung.

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
        Refit the best candidate at ``max_resource`` on all the data.
    cv : int, cross-validation generator or iterable, default=None
        As for :class:`~sklearn.model_selection.GridSearchCV`. The folds are
        drawn once and kept for every rung, which continuation needs.
    verbose : int, default=0
        1 prints each bracket and rung; more is passed to the fits.
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

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        One row per candidate per rung, with the columns of
        ``RandomizedSearchCV`` plus ``bracket``, ``rung``, ``n_resources``
        (the resource of the rung) and ``resource_spent`` (resource trained
        at this rung, per fold: less than ``n_resources`` when continued).
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
        rung.
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
    }

    def __init__(self, estimator, param_distributions, *, resource="max_epochs",
                 max_resource="auto", min_resource="auto", eta=3, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs", random_state=None,
                 error_score=np.nan, return_train_score=False, sampler=None):
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
                raise ValueError(
                    f"resource={self.resource!r} is not a parameter of "
                    f"{type(self.estimator).__name__}; pass one of its integer parameters "
                    "(e.g. 'max_epochs', 'max_iter', 'n_estimators') or 'n_samples'.")
            max_r, min_r = params[self.resource], 1
        max_r = max_r if self.max_resource == "auto" else self.max_resource
        min_r = min_r if self.min_resource == "auto" else self.min_resource
        if not isinstance(max_r, Integral) or max_r < min_r:
            raise ValueError(f"max_resource ({max_r!r}) must be an integer >= min_resource "
                             f"({min_r}); set max_resource explicitly.")
        return int(min_r), int(max_r)

    def _promotion_metric(self, scorers, refit_metric):
        if isinstance(refit_metric, str):
            return refit_metric
        return sorted(scorers._scorers)[0] if hasattr(scorers, "_scorers") else "score"

    # ------------------------------------------------------------------ search
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **params):
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
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        self.min_resource_, self.max_resource_ = self._check_resource(y, splits)
        mode = _continuation_mode(self.estimator, self.resource)
        warm_key = _warm_start_key(self.resource)
        rng = check_random_state(self.random_state)
        proposals = (RandomProposals(self.param_distributions, rng) if self.sampler is None
                     else OptunaProposals(self.param_distributions,
                                          copy.deepcopy(self.sampler)))
        if self.resource == "n_samples":
            subsets = [rng.permutation(train) for train, _ in splits]
        base = clone(self.estimator)
        fit_kwargs = dict(scorer=scorers, fit_params=routed.estimator.fit,
                          score_params=routed.scorer.score,
                          return_train_score=self.return_train_score,
                          return_n_test_samples=True, return_times=True,
                          return_estimator=True, error_score=self.error_score,
                          verbose=max(self.verbose - 1, 0))
        metric = self._promotion_metric(scorers, refit_metric)
        all_params, all_out, more = [], [], defaultdict(list)
        self.brackets_, self.total_resource_ = [], 0.0
        schedule = hyperband_schedule(self.max_resource_ / self.min_resource_, self.eta)

        with Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch) as parallel:
            for b, bracket in enumerate(schedule):
                candidates = proposals.propose(bracket["rungs"][0][0])
                alive = list(range(len(candidates)))
                models, trained = {}, defaultdict(int)
                summary = {"s": bracket["s"], "n_candidates": [], "n_resources": []}
                for i, (n_i, r_units) in enumerate(bracket["rungs"]):
                    alive = alive[:max(n_i, 1)]
                    r = self._rung_resource(r_units, summary["n_resources"])
                    summary["n_candidates"].append(len(alive))
                    summary["n_resources"].append(r)
                    if self.verbose > 0:
                        print(f"[Hyperband] bracket {b + 1}/{len(schedule)} (s={bracket['s']})"
                              f", rung {i}: {len(alive)} candidates x {self.n_splits_} folds "
                              f"at {self.resource}={r}", flush=True)
                    jobs, spent = [], defaultdict(float)
                    for c in alive:
                        for k, (train, test) in enumerate(splits):
                            prev = models.get((c, k))
                            if prev is not None and mode != "refit":
                                extra = r - trained[c] if mode == "additive" else r
                                est, fit_params = prev, {self.resource: extra,
                                                         warm_key: True}
                            else:
                                est = clone(base)
                                fit_params = dict(candidates[c])
                                if self.resource != "n_samples":
                                    fit_params[self.resource] = r
                            fold_train = subsets[k][:r] if self.resource == "n_samples" else train
                            # per fold: a fold that failed before restarts from scratch
                            continued = prev is not None and mode != "refit"
                            spent[c] += (r - trained[c] if continued else r) / self.n_splits_
                            jobs.append(delayed(_fit_and_score)(
                                est, X, y, train=fold_train, test=test, parameters=fit_params,
                                split_progress=(k, self.n_splits_),
                                candidate_progress=(alive.index(c), len(alive)), **fit_kwargs))
                    out = parallel(jobs)
                    for j, result in enumerate(out):
                        c, k = alive[j // self.n_splits_], j % self.n_splits_
                        est = result.pop("estimator")
                        if result["fit_error"] is None and mode != "refit":
                            est.set_params(**{self.resource: r,
                                              warm_key: base.get_params()[warm_key]})
                            models[(c, k)] = est
                        else:
                            models[(c, k)] = None  # failed: a later rung starts anew
                    if callable(self.scoring):
                        _insert_error_scores(out, self.error_score)
                    for c in alive:
                        trained[c] = r
                        shown = dict(candidates[c])
                        if self.resource != "n_samples":
                            shown[self.resource] = r
                        all_params.append(shown)
                        for key, value in (("bracket", bracket["s"]), ("rung", i),
                                           ("n_resources", r), ("resource_spent", spent[c])):
                            more[key].append(value)
                        self.total_resource_ += spent[c]
                    all_out.extend(out)
                    # promote the best by mean test score; failed fits (NaN) come last
                    scores = np.array([np.mean([_metric_value(r_["test_scores"], metric,
                                                              self.refit)
                                                for r_ in out[j:j + self.n_splits_]])
                                       for j in range(0, len(out), self.n_splits_)])
                    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
                    keep = (bracket["rungs"][i + 1][0] if i + 1 < len(bracket["rungs"])
                            else 0)
                    for o in order[keep:]:  # a candidate's last rung: tell the proposer
                        proposals.report(alive[o], scores[o])
                    alive = [alive[o] for o in order]
                self.brackets_.append(summary)

        # once for the whole search: one rung of failures must not stop the others
        _warn_or_raise_about_fit_failures(all_out, self.error_score)
        results = self._format_results(all_params, self.n_splits_, all_out, more)
        self._finish(X, y, routed, scorers, refit_metric, results, all_out)
        return self

    def _rung_resource(self, r_units, previous):
        r = int(round(r_units * self.min_resource_))
        r = min(max(r, self.min_resource_, previous[-1] if previous else 0), self.max_resource_)
        return r

    def _finish(self, X, y, routed, scorers, refit_metric, results, all_out):
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
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False))
            start = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **routed.estimator.fit)
            else:
                self.best_estimator_.fit(X, **routed.estimator.fit)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorers._scorers if hasattr(scorers, "_scorers") else scorers
        self.cv_results_ = results

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        """Best row among those evaluated at the full resource."""
        if callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        full = np.flatnonzero(results["n_resources"] == np.max(results["n_resources"]))
        scores = results[f"mean_test_{refit_metric}"][full]
        return int(full[0] if np.isnan(scores).all() else full[np.nanargmax(scores)])
