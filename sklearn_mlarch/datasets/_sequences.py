"""Generated sequence classification data."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state


def make_sequence_classification(n_samples: int = 300, n_timesteps: int = 20,
                                 n_features: int = 2, n_classes: int = 3, noise: float = 0.3,
                                 variable_length: bool = False,
                                 random_state: int | np.random.RandomState | None = None,
                                 ) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """Noisy sine waves whose frequency gives the class, channels first.

    Class ``k`` is a sine of frequency ``(k + 1) / n_timesteps`` cycles per
    step with a random phase, on every channel, plus Gaussian noise. Telling
    classes apart needs the order of the steps, not their values. Each
    series is ``(C, L)``, C channels of L time steps: the layout that
    :class:`~sklearn_mlarch.CNNClassifier` and
    :class:`~sklearn_mlarch.RNNClassifier` read (aeon/sktime's
    ``numpy3D``; ``X.transpose(0, 2, 1)`` gives Keras' ``(n, L, C)``).

    Parameters
    ----------
    n_samples : int, default=300
    n_timesteps : int, default=20
        Length of every sequence (the longest one when ``variable_length``).
    n_features : int, default=2
        Channels C of every series (features per time step).
    n_classes : int, default=3
    noise : float, default=0.3
        Standard deviation of the Gaussian noise.
    variable_length : bool, default=False
        Return a list of ``(n_features, L_i)`` series with lengths ``L_i``
        drawn from ``[n_timesteps // 2, n_timesteps]``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features, n_timesteps) or list of arrays
        The series, channels first; a list of ``(n_features, L_i)`` arrays
        when ``variable_length``.
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> X, y = make_sequence_classification(n_samples=10, random_state=0)
    >>> X.shape, y.shape
    ((10, 2, 20), (10,))
    >>> X, y = make_sequence_classification(n_samples=3, variable_length=True,
    ...                                     random_state=0)
    >>> [s.shape for s in X]
    [(2, 20), (2, 12), (2, 13)]
    """
    rng = check_random_state(random_state)
    y = rng.randint(n_classes, size=n_samples)
    t = np.arange(n_timesteps)
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, 1, n_features))
    freq = (y[:, None, None] + 1) / n_timesteps
    X = np.sin(2 * np.pi * freq * t[None, :, None] + phase)
    X += noise * rng.randn(*X.shape)
    X = np.ascontiguousarray(X.transpose(0, 2, 1))  # (n, C, L): channels first
    if not variable_length:
        return X, y
    lengths = rng.randint(n_timesteps // 2, n_timesteps + 1, size=n_samples)
    return [np.ascontiguousarray(x[:, :n]) for x, n in zip(X, lengths)], y
