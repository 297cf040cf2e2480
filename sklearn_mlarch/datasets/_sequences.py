"""Generated sequence classification data."""

import numpy as np
from sklearn.utils import check_random_state


def make_sequence_classification(n_samples=300, n_timesteps=20, n_features=2, n_classes=3,
                                 noise=0.3, variable_length=False, random_state=None):
    """Noisy sine waves whose frequency gives the class.

    Class ``k`` is a sine of frequency ``(k + 1) / n_timesteps`` cycles per
    step with a random phase, on every feature, plus Gaussian noise. Telling
    classes apart needs the order of the steps, not their values.

    Parameters
    ----------
    n_samples : int, default=300
    n_timesteps : int, default=20
        Length of every sequence (the longest one when ``variable_length``).
    n_features : int, default=2
    n_classes : int, default=3
    noise : float, default=0.3
        Standard deviation of the Gaussian noise.
    variable_length : bool, default=False
        Return a list of sequences with lengths drawn from
        ``[n_timesteps // 2, n_timesteps]``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features) or list of arrays
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> X, y = make_sequence_classification(n_samples=10, random_state=0)
    >>> X.shape, y.shape
    ((10, 20, 2), (10,))
    """
    rng = check_random_state(random_state)
    y = rng.randint(n_classes, size=n_samples)
    t = np.arange(n_timesteps)
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, 1, n_features))
    freq = (y[:, None, None] + 1) / n_timesteps
    X = np.sin(2 * np.pi * freq * t[None, :, None] + phase)
    X += noise * rng.randn(*X.shape)
    if not variable_length:
        return X, y
    lengths = rng.randint(n_timesteps // 2, n_timesteps + 1, size=n_samples)
    return [x[:n] for x, n in zip(X, lengths)], y
