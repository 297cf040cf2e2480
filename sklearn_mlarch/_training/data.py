"""Datasets, batching and validation split over in-memory tensors.

skorch's default ``Dataset`` + ``DataLoader`` index one sample at a time and
collate the results, which costs more than a small network's forward pass.
The data here already lives in tensors, so a batch is one slice.
"""

import numpy as np
import torch
from sklearn.model_selection import train_test_split


class ArrayDataset(torch.utils.data.Dataset):
    """Tensors ``X``, optional targets ``y`` and optional per-sample weights.

    Indexing with an index tensor returns the batch ``(X[idx], (y[idx], w[idx]))``,
    with ``w[idx]`` None when there are no weights (all samples count the
    same); without targets the second element is ``None``.
    """

    def __init__(self, X, y=None, sample_weight=None):
        self.X = torch.as_tensor(X)
        self.y = None if y is None else torch.as_tensor(y)
        self.sample_weight = None if sample_weight is None else torch.as_tensor(sample_weight)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        if self.y is None:
            return self.X[idx], None
        w = None if self.sample_weight is None else self.sample_weight[idx]
        return self.X[idx], (self.y[idx], w)

    def subset(self, idx):
        idx = torch.as_tensor(idx, dtype=torch.long)
        if self.y is None:
            return ArrayDataset(self.X[idx])
        w = None if self.sample_weight is None else self.sample_weight[idx]
        return ArrayDataset(self.X[idx], self.y[idx], w)


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in batches of consecutive slices.

    Parameters
    ----------
    dataset : ArrayDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation each epoch from ``generator``.
    generator : torch.Generator or None
        Source of the permutations; seeded by the estimator for
        reproducibility.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, self.batch_size):
                yield self.dataset[order[start:start + self.batch_size]]
        else:
            for start in range(0, n, self.batch_size):
                yield self.dataset[start:start + self.batch_size]


class HoldoutSplit:
    """skorch ``train_split`` holding out a fraction of the data for validation.

    Stratified on the targets when ``stratify`` and every class has at least
    two samples, as in :class:`sklearn.neural_network.MLPClassifier`.
    """

    def __init__(self, fraction, stratify=False, random_state=0):
        self.fraction = fraction
        self.stratify = stratify
        self.random_state = random_state

    def __call__(self, dataset, y=None, **_):
        idx = np.arange(len(dataset))
        labels = None
        if self.stratify and dataset.y is not None:
            labels = dataset.y.cpu().numpy()
            if np.unique(labels, return_counts=True)[1].min() < 2:
                labels = None
        train, valid = train_test_split(idx, test_size=self.fraction, stratify=labels,
                                        random_state=self.random_state)
        return dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))
