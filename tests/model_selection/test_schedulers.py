"""HyperbandSearchCV's schedulers: waves of all brackets, and asynchronous (ASHA)."""

import re

import numpy as np
import pytest
from scipy.stats import loguniform

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.model_selection import HyperbandSearchCV, hyperband_schedule
from sklearn_mlarch.utils._testing import fast_instance

from .test_hyperband import EpochCounter, _data


class _Random:
    """Candidates as RandomizedSearchCV draws them, one draw per bracket."""

    def __init__(self, space, seed):
        self.space, self.rng = space, np.random.RandomState(seed)

    def draw(self, n):
        from sklearn.model_selection import ParameterSampler

        return [(p["quality"], None)
                for p in ParameterSampler(self.space, n, random_state=self.rng)]

    def tell(self, candidate, score):
        pass


class _Optuna:
    """Candidates asked of a TPE study of our own, told their final scores."""

    def __init__(self, space, seed):
        import optuna
        from optuna.distributions import CategoricalDistribution

        self.choices = space["quality"]
        self.distributions = {"quality": CategoricalDistribution(list(range(len(self.choices))))}
        self.study = optuna.create_study(direction="maximize",
                                         sampler=optuna.samplers.TPESampler(seed=seed))

    def draw(self, n):
        trials = [self.study.ask(self.distributions) for _ in range(n)]
        return [(self.choices[t.params["quality"]], t) for t in trials]

    def tell(self, candidate, score):
        self.study.tell(candidate[1], score)


def _hyperband_by_hand(proposer, max_resource, eta=3):
    """Hyperband of :class:`EpochCounter` written out, independently of the search's
    schedulers: the brackets of the paper one after another, each a successive
    halving whose rung at ``r`` epochs scores ``r + quality``. A candidate is told
    its score when eliminated, so each bracket's candidates are drawn after the
    earlier brackets' scores are known. Rows: (bracket, rung, quality, r, score)."""
    rows = []
    for bracket in hyperband_schedule(max_resource, eta):
        rungs = bracket["rungs"]
        alive = proposer.draw(rungs[0][0])
        for i, (_, r) in enumerate(rungs):
            r = int(round(r))
            scores = [r + quality for quality, _ in alive]
            rows += [(bracket["s"], i, q, r, score) for (q, _), score in zip(alive, scores)]
            n_next = rungs[i + 1][0] if i + 1 < len(rungs) else 0
            best_first = sorted(range(len(alive)), key=lambda j: -scores[j])  # stable
            for j in best_first[n_next:]:
                proposer.tell(alive[j], scores[j])
            alive = [alive[j] for j in best_first[:n_next]]
    return rows


def _rows(search):
    res = search.cv_results_
    return list(zip(res["bracket"].tolist(), res["rung"].tolist(),
                    res["param_quality"].astype(float).tolist(), res["n_resources"].tolist(),
                    res["mean_test_score"].tolist()))


def _async(**kwargs):
    X, y = _data()
    space = {"quality": np.linspace(0, 0.9, 200)}
    return HyperbandSearchCV(EpochCounter(), space, max_resource=27, cv=2, random_state=0,
                             scheduler="async", **kwargs).fit(X, y)


def test_async_verbose_lines_name_candidate_rung_metric_and_fits(capsys):
    search = _async(verbose=1, scoring="accuracy")
    lines = capsys.readouterr().out.splitlines()
    n_configs = sum(b["rungs"][0][0] for b in hyperband_schedule(27, 3))
    start = re.compile(rf"\[Hyperband \d+\.\ds\] candidate (\d+)/{n_configs}, rung (\d)/4: "
                       r"starts at max_epochs=(\d+); (\d+) fits? done")
    end = re.compile(rf"\[Hyperband \d+\.\ds\] candidate (\d+)/{n_configs}, rung (\d)/4 "
                     r"done: mean accuracy 0\.5000; (\d+) fits done")
    starts = [start.fullmatch(line) for line in lines if " starts at " in line]
    ends = [end.fullmatch(line) for line in lines if " starts at " not in line]
    assert all(starts) and all(ends) and len(starts) == len(ends) == search.n_waves_
    assert starts[0].groups() == ("1", "1", "1", "0")
    assert [int(m.group(3)) for m in ends] == list(range(2, 2 * len(ends) + 1, 2))


def test_async_promotes_the_top_third_without_waiting_for_a_full_rung():
    search = _async()
    res = search.cv_results_
    n_configs = sum(b["rungs"][0][0] for b in hyperband_schedule(27, 3))
    assert (res["rung"] == 0).sum() == n_configs  # as many as the sync search samples
    assert set(res["n_resources"]) == {1, 3, 9, 27}
    # continued, never retrained: the score is the epochs trained (+ quality < 1)
    assert np.array_equal(np.floor(res["mean_test_score"]), res["n_resources"])
    assert set(res["continuation"][res["rung"] > 0]) == {"resume"}
    quality = res["param_quality"].astype(float)
    order = list(zip(res["rung"], quality))
    for row, (rung, q) in enumerate(order):
        if rung == 0:
            continue
        # promoted from rung - 1 while among the best third of the results it had
        below = [q2 for r2, q2 in order[:row] if r2 == rung - 1]
        assert q >= sorted(below, reverse=True)[len(below) // 3 - 1]
    assert search.best_params_["max_epochs"] == 27
    assert search.best_score_ == pytest.approx(27 + quality[res["n_resources"] == 27].max())
    assert search.best_estimator_.epochs_ == 27


def test_async_with_one_job_is_reproducible():
    a, b = _async(), _async()
    assert a.cv_results_["params"] == b.cv_results_["params"]


def test_async_on_process_workers(digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), channels=(4,), max_epochs=9)
    search = HyperbandSearchCV(cnn, {"lr": loguniform(3e-3, 3e-2)}, cv=2, n_jobs=2,
                               scheduler="async", random_state=0).fit(X, y)
    res = search.cv_results_
    assert set(res["n_resources"]) == {1, 3, 9}
    assert np.isfinite(res["mean_test_score"]).all()
    assert search.best_estimator_.n_iter_ == 9 and search.best_score_ > 0.6


def test_grid_hyperband_and_bagging_on_loky_processes(digits):
    from sklearn.ensemble import BaggingClassifier
    from sklearn.model_selection import GridSearchCV

    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3)
    grid = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2, n_jobs=2).fit(X, y)
    from sklearn_mlarch.utils import torch_threads

    with torch_threads(1):  # as on each of 2 workers on 2 cores
        local = GridSearchCV(cnn, {"lr": [1e-2, 2e-2]}, cv=2).fit(X, y)
        alone = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2]}, max_resource=3, cv=2,
                                  random_state=0).fit(X, y)
    assert np.allclose(grid.cv_results_["mean_test_score"],
                       local.cv_results_["mean_test_score"])
    search = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2]}, max_resource=3, cv=2,
                               n_jobs=2, random_state=0).fit(X, y)
    assert np.allclose(search.cv_results_["mean_test_score"],
                       alone.cv_results_["mean_test_score"])
    bag = BaggingClassifier(cnn, n_estimators=2, n_jobs=2, random_state=0).fit(X, y)
    assert bag.score(X, y) > 0.6


@pytest.mark.parametrize("sampler", [None, "optuna"])
def test_all_brackets_in_flight_give_the_same_results(sampler):
    X, y = _data()
    if sampler == "optuna":
        optuna = pytest.importorskip("optuna")
        sampler = optuna.samplers.TPESampler(seed=0)
    kwargs = dict(max_resource=27, cv=2, random_state=0, sampler=sampler)
    space = {"quality": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]}
    waves = HyperbandSearchCV(EpochCounter(), space, scheduler="parallel", **kwargs).fit(X, y)
    one_by_one = HyperbandSearchCV(EpochCounter(), space, scheduler="brackets",
                                   **kwargs).fit(X, y)
    assert waves.cv_results_["params"] == one_by_one.cv_results_["params"]
    for key in ("mean_test_score", "bracket", "rung", "continuation"):
        assert np.array_equal(waves.cv_results_[key], one_by_one.cv_results_[key])
    # 4 brackets of 4, 3, 2 and 1 rungs: 4 waves instead of 10 rungs one by one
    assert one_by_one.n_waves_ == 10
    assert waves.n_waves_ == (10 if sampler else 4)
    # both equal Hyperband written out by hand (with an Optuna sampler both take
    # the same path, so comparing them with each other proves nothing): the same
    # candidates, in the same order, promoted and told as the paper says
    by_hand = _hyperband_by_hand((_Optuna if sampler else _Random)(space, seed=0), 27)
    assert len(by_hand) == len(waves.cv_results_["params"])
    assert _rows(waves) == by_hand
    assert _rows(one_by_one) == by_hand


def test_async_with_an_optuna_sampler_and_negative_n_jobs():
    optuna = pytest.importorskip("optuna")
    from scipy.stats import loguniform

    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": loguniform(1e-3, 0.9)},
                               max_resource=9, cv=2, scheduler="async", random_state=0,
                               sampler=optuna.samplers.TPESampler(seed=0)).fit(X, y)
    # every candidate proposed one by one, and told its score once: no crash
    assert search.cv_results_["n_resources"].max() == 9
    assert (search.cv_results_["rung"] == 0).sum() == 9 + 5 + 3
    slow = HyperbandSearchCV(EpochCounter(), {"quality": [0.1, 0.2, 0.3]}, max_resource=3,
                             cv=2, scheduler="async", n_jobs=-3, random_state=0).fit(X, y)
    assert slow.cv_results_["n_resources"].max() == 3  # -3 on 2 cores: one worker
