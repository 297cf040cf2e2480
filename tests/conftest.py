import numpy as np
import pytest

from sklearn_mlarch.datasets import load_digits_images


@pytest.fixture(scope="session")
def digits():
    """300 digits as flat rows in [0, 1], labels 0..9."""
    X, y = load_digits_images(flat=True)
    return X[:300], y[:300]


@pytest.fixture(scope="session")
def blobs():
    """Two separable classes, 8 features."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(60, 8) - 1.5, rng.randn(60, 8) + 1.5])
    y = np.repeat([0, 1], 60)
    return X, y
