"""scikit-learn's digits as images."""

from sklearn.datasets import load_digits


def load_digits_images(flat=False):
    """The 1,797 8x8 digits of :func:`sklearn.datasets.load_digits`, scaled to [0, 1].

    Parameters
    ----------
    flat : bool, default=False
        Return rows of 64 pixels instead of ``(1, 8, 8)`` images.

    Returns
    -------
    X : ndarray of shape (1797, 1, 8, 8) or (1797, 64)
    y : ndarray of shape (1797,)

    Examples
    --------
    >>> X, y = load_digits_images()
    >>> X.shape, float(X.max())
    ((1797, 1, 8, 8), 1.0)
    """
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return (X if flat else X.reshape(-1, 1, 8, 8)), y
