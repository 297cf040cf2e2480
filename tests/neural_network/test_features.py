import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from sklearn_mlarch import CNNClassifier, Streamed
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


class _CountingDataset(torch.utils.data.Dataset):
    def __init__(self, X, y):
        self.X, self.y, self.reads = X, y, 0

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.reads += 1
        return self.X[i], self.y[i]


@pytest.mark.parametrize("streamed", [False, True])
def test_fit_on_a_dataset_learns_the_width_from_one_sample(streamed):
    # the width of the features came from transforming all of X: a second
    # read of a whole Dataset (or memmap) that may not fit in memory
    X, y = _data()
    data = _CountingDataset(X.astype(np.float32), y)
    _cnn(0).fit(Streamed(data) if streamed else data)
    reads_of_fit = data.reads
    data.reads = 0
    features = NetworkFeatures(_cnn(0)).fit(Streamed(data) if streamed else data)
    assert data.reads - reads_of_fit <= 6 < len(X)
    assert features.get_feature_names_out().shape == (4,)
    np.testing.assert_array_equal(features.transform(X), features.estimator_.transform_features(X))
