"""Batches, datasets, batching and validation split over in-memory tensors.

skorch's default ``Dataset`` + ``DataLoader`` index one sample at a time and
collate the results, which costs more than a small network's forward pass.
The data here already lives in tensors, so a batch is one slice.
"""

import numpy as np
import skorch.dataset
import torch
from sklearn.model_selection import train_test_split

from .stream import LazyRows


class Batch(tuple):
    """A batch ``(X, y)`` that also carries ``sample_weight`` as its own field.

    It unpacks as skorch's ``(X, y)`` pair, so callbacks that read ``y``
    (``EpochScoring`` and the like) see the plain targets; the engine reads
    ``batch.sample_weight``.
    """

    def __new__(cls, X, y=None, sample_weight=None):
        batch = super().__new__(cls, (X, y))
        batch.sample_weight = sample_weight
        return batch

    def __getnewargs__(self):
        return (self[0], self[1], self.sample_weight)


class ArrayDataset(skorch.dataset.Dataset):
    """Tensors ``X``, optional targets ``y`` and optional per-sample weights.

    Indexing with an index tensor or a slice returns a :class:`Batch`.
    ``sample_weight`` is None when every sample counts the same. A skorch
    ``Dataset`` (whose ``X`` and ``y`` skorch's scoring callbacks read),
    without its per-sample indexing.
    """

    def __init__(self, X, y=None, sample_weight=None):
        # rows of a source read batch by batch (stream.py) stay as they are
        self.X = X if isinstance(X, LazyRows) else torch.as_tensor(X)
        self.y = None if y is None else torch.as_tensor(y)
        self.sample_weight = None if sample_weight is None else torch.as_tensor(sample_weight)

    def __len__(self):
        return len(self.X)

    def _take(self, t, idx):
        return None if t is None else t[idx]

    def __getitem__(self, idx):
        return self.batch(idx, self.X[idx])

    def batch(self, idx, X):
        """The :class:`Batch` of rows ``idx``, whose ``X`` is given (already read)."""
        return Batch(X, self._take(self.y, idx), self._take(self.sample_weight, idx))

    def subset(self, idx):
        if isinstance(self.X, LazyRows):  # selected, not read
            idx = torch.as_tensor(idx, dtype=torch.long, device=self._device())
            return ArrayDataset(self.X.subset(idx.cpu().numpy()), self._take(self.y, idx),
                                self._take(self.sample_weight, idx))
        idx = torch.as_tensor(idx, dtype=torch.long, device=self.X.device)
        return ArrayDataset(*self[idx], self._take(self.sample_weight, idx))

    def _device(self):
        return (self.y if self.y is not None else self.X).device

    def to(self, device):
        """A copy whose tensors live on ``device`` (the same object when they already do).

        Streamed rows stay where they are read; each batch moves on its own."""
        if self._device() == torch.device(device):
            return self
        move = (lambda t: None if t is None or isinstance(t, LazyRows) else t.to(device))
        X = self.X if isinstance(self.X, LazyRows) else move(self.X)
        return ArrayDataset(X, move(self.y), move(self.sample_weight))

    def nbytes(self):
        return sum(t.element_size() * t.nelement()
                   for t in (self.X, self.y, self.sample_weight)
                   if t is not None and not isinstance(t, LazyRows))


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in batches of consecutive slices.

    Parameters
    ----------
    dataset : ArrayDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation at each pass from ``generator``.
    generator : torch.Generator or None
        Source of the permutations; seeded by the engine every epoch.
    merge_single : bool, default=False
        Fold a last batch of one sample into the batch before it (65 samples
        with batch size 64 give one batch of 65): batch normalisation cannot
        compute statistics of a single sample.
    augment : callable or None, default=None
        ``augment(X_batch, batch_index) -> X_batch`` applied to each batch's
        ``X`` (an :class:`~sklearn_mlarch._training.augment.Augmenter`; the
        engine passes one for training batches only).
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, merge_single=False,
                 augment=None):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.generator = generator
        self.merge_single = merge_single
        self.augment = augment

    def _starts(self):
        n, bs = len(self.dataset), self.batch_size
        starts = list(range(0, n, bs))
        if self.merge_single and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return starts + [n]

    def __len__(self):
        return len(self._starts()) - 1

    def __iter__(self):
        bounds = self._starts()
        order = None
        if self.shuffle:
            order = torch.randperm(len(self.dataset), generator=self.generator)
            order = order.to(self.dataset.X.device)
        index = [slice(a, b) if order is None else order[a:b]
                 for a, b in zip(bounds[:-1], bounds[1:])]
        X = self.dataset.X
        rows = (X.batches(index, self.generator) if isinstance(X, LazyRows)
                else (X[idx] for idx in index))
        for i, (idx, Xi) in enumerate(zip(index, rows)):
            batch = self.dataset.batch(idx, Xi)
            if self.augment is not None:
                batch = Batch(self.augment(batch[0], i), batch[1], batch.sample_weight)
            yield batch


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
        if len(train) < 2:
            raise ValueError(
                f"early_stopping holds out validation_fraction={self.fraction} of "
                f"{len(dataset)} samples, leaving {len(train)} to train on. Pass more "
                "samples, a smaller validation_fraction, or early_stopping=False.")
        return dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))
