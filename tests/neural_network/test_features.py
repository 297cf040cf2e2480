import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.neural_network import NetworkFeatures


def _data():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 1, 12)
    return X, (X.mean(axis=(1, 2)) > 0.5).astype(int)


def _cnn(seed):
    return CNNClassifier(channels=(4,), max_epochs=3, random_state=seed)


def test_random_state_seeds_the_trained_clone():
    X, y = _data()
    a = NetworkFeatures(_cnn(None), random_state=0).fit(X, y)
    b = NetworkFeatures(_cnn(None), random_state=0).fit(X, y)
    assert a.estimator_.random_state == 0
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_random_state_replaces_the_estimators_own():
    X, y = _data()
    own = NetworkFeatures(_cnn(0)).fit(X, y)
    replaced = NetworkFeatures(_cnn(1), random_state=0).fit(X, y)
    kept = NetworkFeatures(_cnn(1)).fit(X, y)
    np.testing.assert_array_equal(own.transform(X), replaced.transform(X))
    assert not np.array_equal(own.transform(X), kept.transform(X))


def test_random_state_without_a_seedable_estimator_raises():
    X, y = _data()
    with pytest.raises(ValueError, match="KNeighborsClassifier takes no random_state"):
        NetworkFeatures(KNeighborsClassifier(), random_state=0).fit(X.reshape(40, -1), y)
