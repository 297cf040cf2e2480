"""The pure functions of the schedule: brackets, integer rungs, promotion."""

import numpy as np
import pytest

from sklearn_mlarch.model_selection import hyperband_schedule
from sklearn_mlarch.model_selection._schedule import integer_rungs, promote, rank


def test_published_table_r81_eta3():
    # Li et al. (JMLR 2018), Table 1: (n_i, r_i) of every rung of every bracket
    expected = {
        4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        3: [(34, 3), (11, 9), (3, 27), (1, 81)],
        2: [(15, 9), (5, 27), (1, 81)],
        1: [(8, 27), (2, 81)],
        0: [(5, 81)],
    }
    brackets = hyperband_schedule(81, 3)
    assert [b["s"] for b in brackets] == [4, 3, 2, 1, 0]
    for b in brackets:
        assert [(n, round(r, 9)) for n, r in b["rungs"]] == expected[b["s"]]


def test_every_bracket_ends_at_max_resource():
    for R, eta in [(30, 3), (100, 4), (9, 2), (1, 3)]:
        for b in hyperband_schedule(R, eta):
            assert b["rungs"][-1][1] == pytest.approx(R)


@pytest.mark.parametrize("R, eta", [(0.5, 3), (10, 1)])
def test_invalid_arguments(R, eta):
    with pytest.raises(ValueError):
        hyperband_schedule(R, eta)


def _promote_by_definition(scores, n_promote):
    """Promotion spelled out pairwise: candidate i beats j when its score is higher,
    or equal and i comes first; NaN beats nothing and is never promoted."""
    def beats(i, j):
        if np.isnan(scores[i]):
            return False
        return np.isnan(scores[j]) or scores[i] > scores[j] or (
            scores[i] == scores[j] and i < j)

    n = len(scores)
    by_rank = sorted(range(n), key=lambda i: sum(beats(j, i) for j in range(n)))
    return [i for i in by_rank[:n_promote] if not np.isnan(scores[i])]


def test_promote_keeps_the_top_third_best_first():
    scores = [0.1, 0.7, 0.4, 0.9, 0.2, 0.8, 0.3, 0.6, 0.5]
    assert promote(scores, len(scores) // 3) == [3, 5, 1]
    assert promote(np.array(scores), 1) == [3]  # numpy scores too
    assert promote(scores, 0) == []
    assert promote(scores, 20) == rank(scores) == [3, 5, 1, 7, 8, 2, 6, 4, 0]
    assert promote([], 3) == []


def test_promote_breaks_ties_by_position():
    assert promote([0.5, 0.9, 0.5, 0.9, 0.5], 3) == [1, 3, 0]
    assert promote([0.5, 0.5, 0.5], 2) == [0, 1]


def test_failed_candidates_rank_last_and_are_never_promoted():
    nan = float("nan")
    scores = [nan, 0.2, nan, 0.1, -np.inf]
    assert rank(scores) == [1, 3, 4, 0, 2]
    assert promote(scores, 4) == [1, 3, 4]
    assert promote([nan, nan], 1) == []
    assert promote([nan, -np.inf], 1) == [1]  # a real score, however low, beats a failure


def test_promote_agrees_with_its_definition_on_random_rungs():
    rng = np.random.RandomState(0)
    for _ in range(200):
        n = rng.randint(0, 12)
        # few distinct values: ties and failures are common
        scores = np.where(rng.rand(n) < 0.5, rng.choice([0.1, 0.3, np.nan, -np.inf], n),
                          rng.rand(n))
        for n_promote in range(n + 2):
            assert promote(scores, n_promote) == _promote_by_definition(scores, n_promote)


def test_integer_rungs_merge_repeated_resources():
    rungs = hyperband_schedule(3, 1.2)[0]["rungs"]
    assert [round(r) for _, r in rungs] == [1, 1, 1, 2, 2, 3, 3]
    assert integer_rungs(rungs, 1, 3) == [(3, 1), (1, 2), (1, 3)]
    # in units of min_resource, capped at max_resource, never fewer than 1 candidate
    assert integer_rungs([(2, 1.0), (0, 3.0), (0, 9.5)], 3, 27) == [(2, 3), (1, 9), (1, 27)]
