import re

import numpy as np
import pytest
from scipy.stats import loguniform, randint
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GroupKFold

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.model_selection import HyperbandSearchCV, hyperband_schedule
from sklearn_mlarch.utils._testing import fast_instance


class EpochCounter(ClassifierMixin, BaseEstimator):
    """Scores the total epochs it has trained, to expose continuation.

    Its warm start adds max_epochs, and it declares so: the search resumes it.
    """

    _continuations = {"max_epochs": "resume"}

    def __init__(self, max_epochs=10, warm_start=False, quality=0.0, fail=False):
        self.max_epochs = max_epochs
        self.warm_start = warm_start
        self.quality = quality
        self.fail = fail

    def fit(self, X, y):
        if self.fail:
            raise RuntimeError("this candidate always fails")
        self.classes_ = np.unique(y)
        done = getattr(self, "epochs_", 0) if self.warm_start else 0
        self.epochs_ = done + self.max_epochs
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return self.epochs_ + self.quality


def _data(n=60):
    rng = np.random.RandomState(0)
    return rng.randn(n, 4), np.arange(n) % 2


def _budget(R, eta, continued):
    total = 0
    for b in hyperband_schedule(R, eta):
        prev = 0
        for n, r in b["rungs"]:
            total += n * (r - prev if continued else r)
            prev = r
    return total


def test_continuation_trains_exactly_the_missing_epochs():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": np.linspace(0, 0.5, 50)},
                               max_resource=27, cv=3, random_state=0).fit(X, y)
    res = search.cv_results_
    # each row's score is the epochs its models trained in total (+ quality < 1)
    assert np.array_equal(np.floor(res["mean_test_score"]), res["n_resources"])
    assert search.total_resource_ == _budget(27, 3, continued=True)
    assert search.total_resource_ < _budget(27, 3, continued=False)
    assert search.best_params_["max_epochs"] == 27
    assert search.best_estimator_.epochs_ == 27  # refit from scratch at full resource


def test_results_have_a_row_per_candidate_and_rung():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": loguniform(1e-3, 0.5)},
                               max_resource=9, cv=2, random_state=0).fit(X, y)
    res = search.cv_results_
    n_rows = sum(n for b in hyperband_schedule(9, 3) for n, _ in b["rungs"])
    assert len(res["params"]) == n_rows
    for key in ("bracket", "rung", "n_resources", "resource_spent", "rank_test_score",
                "mean_test_score", "std_test_score", "split0_test_score", "param_quality",
                "mean_fit_time"):
        assert len(res[key]) == n_rows, key
    assert set(res["bracket"]) == {2, 1, 0} and set(res["n_resources"]) == {1, 3, 9}
    # promotion: every candidate of rung 1 was among the best third of rung 0
    b2 = res["bracket"] == 2
    rung0 = res["rung"][b2] == 0
    q0 = np.sort(res["param_quality"][b2][rung0].astype(float))[::-1]
    q1 = res["param_quality"][b2][res["rung"][b2] == 1].astype(float)
    assert set(q1) == set(q0[:len(q1)])


def test_best_is_chosen_among_full_resource_rows():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": np.linspace(0, 0.9, 30)},
                               max_resource=9, cv=2, random_state=1).fit(X, y)
    res = search.cv_results_
    full = res["n_resources"] == 9
    assert res["n_resources"][search.best_index_] == 9
    assert search.best_score_ == res["mean_test_score"][full].max()


def test_failing_candidates_get_error_score_and_the_search_goes_on():
    X, y = _data()
    with pytest.warns(FitFailedWarning):
        search = HyperbandSearchCV(EpochCounter(), {"fail": [True, False],
                                                    "quality": [0.1, 0.2, 0.3]},
                                   max_resource=9, cv=2, random_state=0).fit(X, y)
    res = search.cv_results_
    failed = res["param_fail"].astype(bool)
    assert np.isnan(res["mean_test_score"][failed]).all()
    assert not search.best_params_["fail"]
    with pytest.raises(RuntimeError, match="always fails"):
        HyperbandSearchCV(EpochCounter(fail=True), {"quality": [0.1]}, max_resource=3, cv=2,
                          error_score="raise").fit(X, y)


def test_diverging_network_gets_error_score(digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3, optimizer="sgd")
    with pytest.warns(FitFailedWarning):
        search = HyperbandSearchCV(cnn, {"lr": [1e38, 1e-2]}, max_resource=3, cv=2,
                                   random_state=0).fit(X * 1e6, y)
    assert search.best_params_["lr"] == 1e-2


def test_package_estimator_continues_in_parallel(digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=9)
    search = HyperbandSearchCV(cnn, {"lr": loguniform(1e-3, 3e-2), "channels": [(4,), (8,)]},
                               cv=2, n_jobs=2, random_state=0).fit(X, y)
    assert search.total_resource_ == _budget(9, 3, continued=True)
    assert search.best_estimator_.n_iter_ == 9
    assert search.best_score_ > 0.7


def test_sklearn_estimators_sgd_forest_and_n_samples(digits):
    X, y = digits
    sgd = HyperbandSearchCV(SGDClassifier(tol=None, random_state=0),
                            {"alpha": loguniform(1e-5, 1e-1)}, resource="max_iter",
                            max_resource=9, cv=3, random_state=0).fit(X, y)
    assert sgd.best_score_ > 0.8 and sgd.total_resource_ == _budget(9, 3, continued=True)

    forest = HyperbandSearchCV(RandomForestClassifier(random_state=0),
                               {"max_depth": randint(2, 12)}, resource="n_estimators",
                               max_resource=27, min_resource=3, cv=2, random_state=0)
    forest.fit(X, y)
    assert forest.best_estimator_.n_estimators == 27
    assert forest.total_resource_ == 3 * _budget(9, 3, continued=True)  # units of 3 trees

    samples = HyperbandSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1, 10]},
                                resource="n_samples", cv=2, random_state=0).fit(X, y)
    res = samples.cv_results_
    assert res["n_resources"].max() == samples.max_resource_ == 150
    assert samples.min_resource_ == 2 * 2 * 10
    assert (res["resource_spent"] == res["n_resources"]).all()  # refitted, not continued


def test_multimetric_refit_by_name_and_groups(digits):
    X, y = digits
    groups = np.arange(len(X)) % 3
    search = HyperbandSearchCV(EpochCounter(), {"quality": [0.1, 0.5, 0.9]}, max_resource=3,
                               cv=GroupKFold(3), scoring={"acc": "accuracy",
                                                          "own": lambda e, X, y: e.score(X, y)},
                               refit="own", random_state=0).fit(X, y, groups=groups)
    assert search.multimetric_ and "mean_test_acc" in search.cv_results_
    assert search.best_score_ == pytest.approx(3.9)
    with pytest.raises(ValueError, match="refit"):
        HyperbandSearchCV(EpochCounter(), {"quality": [0.1]}, max_resource=3,
                          scoring={"a": "accuracy", "b": "accuracy"}, refit=True).fit(X, y)


def test_verbose_reports_brackets_and_rungs(capsys):
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": [0.1, 0.2, 0.3, 0.4]},
                               max_resource=9, cv=2, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    # each line: the time elapsed, the bracket and rung (one label), the fits done of all
    line = re.compile(r"\[Hyperband \d+\.\ds\] bracket (\d)/3 \(s=\d\), rung (\d)/(\d)"
                      r"( done)?: (.*); fits (\d+)/32 done")
    parsed = [line.fullmatch(text).groups() for text in lines]
    assert len(parsed) == 12  # a start and an end line for each of the 3 + 2 + 1 rungs
    assert parsed[0][4] == "4 candidates x 2 folds at max_epochs=1"
    assert sum(p[4].startswith("1 candidate x 2 folds") for p in parsed) == 2  # not "candidates"
    assert int(parsed[-1][5]) == 32 and [int(p[5]) for p in parsed] == sorted(
        int(p[5]) for p in parsed)
    ends = [p for p in parsed if p[3]]
    assert [(p[0], p[1]) for p in ends[:3]] == [("1", "1"), ("2", "1"), ("3", "1")]
    best, promoted = re.fullmatch(r"best mean score (\S+), (\d+) of 4 promoted",
                                  ends[0][4]).groups()
    res = search.cv_results_
    first = (res["bracket"] == 2) & (res["rung"] == 0)
    assert float(best) == pytest.approx(res["mean_test_score"][first].max(), abs=1e-4)


def test_verbose_names_the_scorer_and_a_grid_bounds_the_fits(capsys):
    X, y = _data()
    HyperbandSearchCV(EpochCounter(), {"quality": [0.1, 0.2, 0.3, 0.4]}, max_resource=9, cv=2,
                      scoring="accuracy", scheduler="brackets", verbose=1,
                      random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("best mean accuracy 0.5000") == 6 and "score" not in out
    # the grid of 4 caps every bracket's candidates from the start: 32 fits planned
    assert re.findall(r"fits \d+/(\d+) done", out) == ["32"] * 12


@pytest.mark.parametrize("kwargs, message", [
    (dict(resource="n_layers"), "not a parameter"),
    (dict(max_resource=0), "max_resource"),
])
def test_bad_resource(kwargs, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        HyperbandSearchCV(EpochCounter(), {"quality": [0.1]}, **kwargs).fit(X, y)


def test_resource_in_param_distributions_errors():
    X, y = _data()
    with pytest.raises(ValueError, match="also in param_distributions"):
        HyperbandSearchCV(EpochCounter(), {"max_epochs": [1, 2]}).fit(X, y)


def test_pipeline_step_resource_continues():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    pipe = make_pipeline(StandardScaler(), EpochCounter())
    search = HyperbandSearchCV(pipe, {"epochcounter__quality": np.linspace(0, 0.5, 20)},
                               resource="epochcounter__max_epochs", max_resource=9, cv=2,
                               random_state=0).fit(X, y)
    res = search.cv_results_
    assert np.array_equal(np.floor(res["mean_test_score"]), res["n_resources"])
    assert search.total_resource_ == _budget(9, 3, continued=True)


def test_optuna_sampler_proposes_candidates_and_learns():
    optuna = pytest.importorskip("optuna")
    X, y = _data()
    space = {"quality": loguniform(1e-3, 0.9), "fail": [False, True]}
    search = HyperbandSearchCV(EpochCounter(), space, max_resource=27, cv=2,
                               sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=10),
                               error_score=0.0, random_state=0)
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    res = search.cv_results_
    fail = res["param_fail"].astype(bool)
    assert isinstance(res["params"][0]["fail"], bool)  # list choices decoded
    assert (res["mean_test_score"][fail] == 0).all()
    assert np.array_equal(np.floor(res["mean_test_score"][~fail]), res["n_resources"][~fail])
    # TPE learns that fail=True scores nothing: later brackets propose fewer failures
    first = (res["bracket"] == 3) & (res["rung"] == 0)
    later = (res["bracket"] < 3) & (res["rung"] == 0)
    assert fail[later].mean() < fail[first].mean()
    # the sampler passed in is not consumed: a second fit gives the same candidates
    again = clone(search).fit(X, y)
    assert again.cv_results_["params"] == res["params"]


def test_optuna_sampler_needs_bounded_distributions():
    optuna = pytest.importorskip("optuna")
    from scipy.stats import norm

    X, y = _data()
    with pytest.raises(ValueError, match="unbounded"):
        HyperbandSearchCV(EpochCounter(), {"quality": norm()}, max_resource=3,
                          sampler=optuna.samplers.TPESampler(seed=0)).fit(X, y)


def two_metrics(est, X, y):
    """A callable scoring that returns several metrics."""
    return {"epochs": est.score(X, y), "minus": -est.score(X, y)}


def test_callable_scoring_with_several_metrics_promotes_by_refit():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": np.linspace(0, 0.9, 10)},
                               max_resource=9, cv=2, scoring=two_metrics, refit="epochs",
                               random_state=0).fit(X, y)
    assert search.best_score_ == pytest.approx(9 + search.best_params_["quality"])
    assert search.best_params_["quality"] == pytest.approx(
        search.cv_results_["param_quality"][search.cv_results_["n_resources"] == 9].max())
