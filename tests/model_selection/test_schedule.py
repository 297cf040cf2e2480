import pytest

from sklearn_mlarch.model_selection import hyperband_schedule


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
