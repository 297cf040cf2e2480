import numpy as np
import pytest

from sklearn_mlarch.datasets import load_digits_images, make_sequence_classification


def test_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and X.min() == 0 and X.max() == 1
    assert load_digits_images(flat=True)[0].shape == (1797, 64)


def test_sequences_are_seeded_and_variable_length():
    a, ya = make_sequence_classification(20, random_state=0, variable_length=True)
    b, yb = make_sequence_classification(20, random_state=0, variable_length=True)
    assert all(np.array_equal(s, t) for s, t in zip(a, b)) and np.array_equal(ya, yb)
    # (C, L_i) series, channels first
    assert {s.shape[0] for s in a} == {2}
    assert len({s.shape[1] for s in a}) > 1 and min(s.shape[1] for s in a) >= 10


# ----------------------------------------------------------------- few-shot tasks
def test_sinusoid_tasks_follow_the_paper_distribution():
    from sklearn_mlarch.datasets import SinusoidTasks

    X, y, groups = SinusoidTasks().make_tasks(n_tasks=500, n_points=30, random_state=0)
    assert X.shape == (15000, 1) and y.shape == (15000,) and groups.max() == 499
    assert X.min() >= -5 and X.max() <= 5
    amplitudes = np.array([np.abs(y[groups == g]).max() for g in range(500)])
    assert amplitudes.max() <= 5 and amplitudes.min() < 0.5 and amplitudes.max() > 4.5
    again = SinusoidTasks().make_tasks(n_tasks=500, n_points=30, random_state=0)
    np.testing.assert_array_equal(y, again[1])
    other = SinusoidTasks().make_tasks(n_tasks=500, n_points=30, random_state=1)
    assert not np.array_equal(y, other[1])


def test_split_classes_and_episodes():
    from sklearn.datasets import load_digits

    from sklearn_mlarch.datasets import sample_episodes, split_classes

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = split_classes(X, y, test_classes=[7, 8, 9])
    assert set(y_train) == set(range(7)) and set(y_test) == {7, 8, 9}
    assert len(X_train) + len(X_test) == len(X)
    episodes = list(sample_episodes(X_test, y_test, n_way=2, k_shot=3, n_query=4,
                                    n_episodes=20, random_state=0))
    assert len(episodes) == 20
    for Xs, ys, Xq, yq in episodes:
        assert Xs.shape == (6, 64) and Xq.shape == (8, 64)
        assert set(ys) == set(yq) and len(set(ys)) == 2
        rows = {tuple(r) for r in Xs} | {tuple(r) for r in Xq}
        assert len(rows) >= 13  # support and query rows are distinct draws
    assert len({tuple(sorted(set(e[1]))) for e in episodes}) > 1  # classes vary
    with pytest.raises(ValueError, match="n_way=4 but y has 3 classes"):
        next(sample_episodes(X_test, y_test, 4, 1, 1, 1))
    with pytest.raises(ValueError, match="fewer than k_shot"):
        next(sample_episodes(X_test, y_test, 2, 100, 100, 1))
    with pytest.raises(ValueError, match="every class"):
        split_classes(X, y, test_classes=range(10))
