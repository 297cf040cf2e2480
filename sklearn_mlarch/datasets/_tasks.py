"""Few-shot tasks: the sinusoid task family and episodic splits of labelled data."""

from __future__ import annotations

import math
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike


def _torch_generator(random_state):
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    return torch.Generator().manual_seed(seed)


class SinusoidTasks:
    """The sinusoid regression task family of the MAML paper.

    A task is ``y = amplitude * sin(x - phase)`` with the amplitude drawn
    from ``U[0.1, 5]``, the phase from ``U[0, pi]`` and the inputs from
    ``U[-5, 5]`` (Finn, Abbeel and Levine, ICML 2017, section 5.1).

    Parameters
    ----------
    amplitude : tuple of float, default=(0.1, 5.0)
    phase : tuple of float, default=(0, pi)
    x_range : tuple of float, default=(-5.0, 5.0)

    Examples
    --------
    >>> X, y, groups = SinusoidTasks().make_tasks(n_tasks=3, n_points=10, random_state=0)
    >>> X.shape, y.shape, np.unique(groups).tolist()
    ((30, 1), (30,), [0, 1, 2])
    """

    def __init__(self, amplitude=(0.1, 5.0), phase=(0.0, math.pi), x_range=(-5.0, 5.0)):
        self.amplitude = amplitude
        self.phase = phase
        self.x_range = x_range

    def __repr__(self):
        return (f"SinusoidTasks(amplitude={self.amplitude}, phase={self.phase}, "
                f"x_range={self.x_range})")

    def _uniform(self, bounds, shape, generator):
        low, high = bounds
        return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)

    def sample(self, n_tasks: int, n_points: int,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n_tasks`` tasks of ``n_points`` points each, as tensors.

        Parameters
        ----------
        n_tasks, n_points : int
        generator : torch.Generator, default=None

        Returns
        -------
        X : tensor of shape (n_tasks, n_points, 1)
        y : tensor of shape (n_tasks, n_points, 1)
        """
        amplitude = self._uniform(self.amplitude, (n_tasks, 1, 1), generator)
        phase = self._uniform(self.phase, (n_tasks, 1, 1), generator)
        X = self._uniform(self.x_range, (n_tasks, n_points, 1), generator)
        return X, amplitude * torch.sin(X - phase)

    def make_tasks(self, n_tasks: int, n_points: int,
                   random_state: int | np.random.RandomState | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tasks as scikit-learn data: rows ``X``, targets ``y`` and task ids ``groups``.

        Parameters
        ----------
        n_tasks, n_points : int
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_tasks * n_points, 1)
        y : ndarray of shape (n_tasks * n_points,)
        groups : ndarray of shape (n_tasks * n_points,)
            The task of each row, ``0 .. n_tasks - 1``.
        """
        X, y = self.sample(n_tasks, n_points, _torch_generator(random_state))
        groups = np.repeat(np.arange(n_tasks), n_points)
        return X.reshape(-1, 1).numpy(), y.reshape(-1).numpy(), groups


def split_classes(X: ArrayLike, y: ArrayLike, test_classes: ArrayLike,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split labelled data by class: meta-training classes against held-out ones.

    Few-shot learning tests on classes never seen in meta-training; this is
    :func:`~sklearn.model_selection.train_test_split` by class.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
    test_classes : array-like
        The labels held out for testing.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = split_classes(X, y, test_classes=[5, 6, 7, 8, 9])
    >>> np.unique(y_train).tolist(), np.unique(y_test).tolist()
    ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9])
    """
    X = np.asarray(X)
    y = column_or_1d(np.asarray(y))
    check_consistent_length(X, y)
    test_classes = np.asarray(test_classes)
    unknown = np.setdiff1d(test_classes, y)
    if unknown.size:
        raise ValueError(f"test_classes has labels {unknown.tolist()} that are not in y.")
    test = np.isin(y, test_classes)
    if test.all():
        raise ValueError("test_classes holds every class of y: keep some for training.")
    return X[~test], X[test], y[~test], y[test]


def sample_episodes(X: ArrayLike, y: ArrayLike, n_way: int, k_shot: int, n_query: int,
                    n_episodes: int, random_state: int | np.random.RandomState | None = None,
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """N-way K-shot episodes drawn from labelled data, for evaluation.

    Each episode takes ``n_way`` classes at random and ``k_shot + n_query``
    distinct rows of each: ``k_shot`` to adapt on (the support set) and
    ``n_query`` to score on (the query set). Labels keep their values.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
    n_way, k_shot, n_query, n_episodes : int
    random_state : int, RandomState instance or None, default=None

    Yields
    ------
    X_support, y_support, X_query, y_query : ndarrays

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> Xs, ys, Xq, yq = next(sample_episodes(X, y, n_way=5, k_shot=1, n_query=15,
    ...                                       n_episodes=1, random_state=0))
    >>> Xs.shape, Xq.shape, len(set(ys))
    ((5, 64), (75, 64), 5)
    """
    for name, value in [("n_way", n_way), ("k_shot", k_shot), ("n_query", n_query),
                        ("n_episodes", n_episodes)]:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    X = np.asarray(X)
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"))
    check_consistent_length(X, y)
    rng = check_random_state(random_state)
    classes, counts = np.unique(y, return_counts=True)
    if n_way > len(classes):
        raise ValueError(f"n_way={n_way} but y has {len(classes)} classes. Pass n_way <= "
                         f"{len(classes)}.")
    if counts.min() < k_shot + n_query:
        raise ValueError(
            f"class {classes[counts.argmin()]!r} has {counts.min()} rows, fewer than "
            f"k_shot + n_query = {k_shot + n_query}. Lower k_shot or n_query.")
    rows = {c: np.flatnonzero(y == c) for c in classes}
    for _ in range(n_episodes):
        chosen = rng.choice(classes, n_way, replace=False)
        picks = [rng.choice(rows[c], k_shot + n_query, replace=False) for c in chosen]
        support = np.concatenate([p[:k_shot] for p in picks])
        query = np.concatenate([p[k_shot:] for p in picks])
        yield X[support], y[support], X[query], y[query]
