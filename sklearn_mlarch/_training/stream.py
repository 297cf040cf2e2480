"""Input read batch by batch: memmaps, array-likes, Dask arrays, torch datasets.

An in-memory array is validated and cast whole before training. A source
too large for that (a memory-mapped array, an h5py or zarr dataset, a Dask
array, a torch ``Dataset`` that decodes files) is wrapped in
:class:`LazyRows` instead: the engine indexes it like a tensor, and each
index reads, casts and checks only the rows asked for. The batches are the
rows an in-memory array would give for the same seed, so the model is the
same.

``num_workers`` (:class:`Streamed`) reads batches in worker processes
through torch's ``DataLoader``: batch ``i`` of an epoch is read by one
worker while the network trains on the previous ones.
"""

import ctypes
import ctypes.util
import multiprocessing

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .sources import ArraySource, DatasetSource, IterableSource, _as_numpy

#: batches between two returns of freed memory to the system (see _trimmed)
TRIM_EVERY = 64


class Streamed:
    """Input read in batches, with ``num_workers`` processes reading them.

    Any estimator of the package reads a NumPy memmap, an array-like with
    ``shape`` and ``__getitem__`` (h5py, zarr), a Dask array or a torch
    ``Dataset`` batch by batch without a wrapper; wrap it to read the
    batches in worker processes (files decoded in parallel).

    Parameters
    ----------
    source : array-like or torch.utils.data.Dataset
        The data: an array-like of shape ``(n_samples, ...)`` read by
        indexing, a map-style ``Dataset`` yielding ``(x, y)`` or ``x``, or
        an ``IterableDataset`` (read in order; ``num_workers`` must be 0).
    num_workers : int, default=0
        Worker processes of torch's ``DataLoader`` that read the batches;
        0 reads them in the training process. Each worker's torch, NumPy
        and ``random`` generators are seeded by the ``DataLoader`` from a
        seed drawn from the estimator's epoch generator, so random
        transforms of a dataset give the same model for the same
        ``random_state`` and ``num_workers``. With 0, a dataset's random
        transforms draw from the process's own generators (use the CNN
        estimators' ``augment`` for seeded augmentation).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import CNNClassifier, Streamed
    >>> X = np.random.RandomState(0).rand(40, 1, 8, 8)
    >>> y = np.arange(40) % 2
    >>> clf = CNNClassifier(channels=(4,), hidden_sizes=(8,), max_epochs=1, random_state=0)
    >>> clf.fit(Streamed(X, num_workers=0), y).predict(Streamed(X[:3])).shape
    (3,)
    """

    def __init__(self, source, *, num_workers=0):
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}.")
        self.source = source
        self.num_workers = int(num_workers)


def is_streamed(X):
    """Whether ``X`` is read batch by batch rather than validated whole."""
    if isinstance(X, (Streamed, Dataset, np.memmap, ArraySource, DatasetSource)):
        return True
    if isinstance(X, (np.ndarray, torch.Tensor, list, tuple)) or hasattr(X, "columns") \
            or hasattr(X, "tocsr") or not hasattr(X, "shape") or not hasattr(X, "__getitem__"):
        return False
    return len(getattr(X, "shape", ())) >= 2  # h5py, zarr, Dask, other array-likes


def source_of(X):
    """The :class:`ArraySource` or :class:`DatasetSource` that reads ``X``."""
    if isinstance(X, (ArraySource, DatasetSource)):
        return X
    workers = X.num_workers if isinstance(X, Streamed) else 0
    X = X.source if isinstance(X, Streamed) else X
    if isinstance(X, IterableDataset):
        return IterableSource(X, workers)
    if isinstance(X, Dataset):
        return DatasetSource(X, workers)
    if is_streamed(X) or isinstance(X, (np.ndarray, torch.Tensor)):
        return ArraySource(X, workers)
    raise ValueError(f"Streamed holds {type(X).__name__}, which is read as a whole: pass "
                     "an array-like with shape and __getitem__, or a torch Dataset.")


def read_whole(X, why):
    """An array-like source read whole, in memory (where batches cannot be
    read alone: ``why``); a torch Dataset raises."""
    X = X.source if isinstance(X, Streamed) else X
    if isinstance(X, Dataset):
        raise ValueError(f"{why}, so it reads X whole, which a torch Dataset cannot give: "
                         "pass an array.")
    return _as_numpy(X[:] if not isinstance(X, np.ndarray) else X, "samples")


def first_samples(X, n=1):
    """The first ``n`` samples of ``X`` (to probe a fitted model with), read
    alone where ``X`` allows; a stream (an ``IterableDataset``) is given whole."""
    inner = X.source if isinstance(X, Streamed) else X
    if isinstance(inner, IterableDataset):
        return X
    if isinstance(inner, Dataset):
        return torch.utils.data.Subset(inner, range(min(n, len(inner))))
    if hasattr(inner, "shape") or isinstance(inner, (list, tuple)):
        return inner[:n]
    return X


def with_labels(X):
    """``(X, y)`` of a streamed ``X`` that carries its labels (a Dataset's, a
    stream's ``(x, y)``, the stream then spooled: it is read once)."""
    source = source_of(X)
    if isinstance(source, IterableSource):
        X, labels = source.spool()
    else:
        labels = source.labels()
    if labels is None:
        raise ValueError("X carries no labels (an array, or samples without y): pass y.")
    return X, labels


def check_representable(X, dtype, name="X"):
    """Raise when values of float64 ``X`` overflow or vanish in ``dtype``."""
    finfo = np.finfo(dtype)
    if X.dtype == dtype or X.size == 0:
        return
    magnitude = np.abs(X[np.isfinite(X)]) if np.isnan(X).any() else np.abs(X)
    largest = magnitude.max(initial=0.0)
    if largest > finfo.max:
        raise ValueError(
            f"{name} has values up to {largest:.3g}, beyond the range of {dtype} "
            f"({finfo.max:.3g}): they would become infinite. Scale {name} (e.g. "
            "StandardScaler) or pass dtype='float64'.")
    nonzero = magnitude[magnitude > 0]
    if nonzero.size and nonzero.min() < finfo.tiny:
        raise ValueError(
            f"{name} has non-zero values as small as {nonzero.min():.3g}, below the smallest "
            f"normal {dtype} ({finfo.tiny:.3g}): they would lose precision or become 0. "
            f"Scale {name} (e.g. StandardScaler) or pass dtype='float64'.")


class LazyRows:
    """Rows of a source read on demand, cast to ``dtype`` and shaped ``sample_shape``.

    Indexed like the tensor it stands for: ``rows[idx]`` (a slice or index
    tensor) is a tensor of those rows, read from the source, checked for
    NaN and infinity, and cast. ``subset`` selects rows without reading.
    """

    device = torch.device("cpu")

    def __init__(self, source, sample_shape, dtype, rows=None):
        self.source = source
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.dtype = np.dtype(dtype)
        self.rows = rows  # positions in the source; None: all, in order

    def __len__(self):
        return len(self.source) if self.rows is None else len(self.rows)

    @property
    def shape(self):
        return (len(self), *self.sample_shape)

    def is_floating_point(self):
        return True

    def subset(self, idx):
        idx = np.asarray(idx, dtype=np.int64)
        return LazyRows(self.source, self.sample_shape, self.dtype,
                        idx if self.rows is None else self.rows[idx])

    def astype(self, dtype, copy=False):
        return LazyRows(self.source, self.sample_shape, dtype, self.rows)

    def _positions(self, idx):
        if isinstance(idx, slice):
            if self.rows is None:
                return idx
            idx = np.arange(len(self))[idx]
        idx = np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64)
        return idx if self.rows is None else self.rows[idx]

    def read(self, idx):
        """The rows ``idx`` as a C-ordered numpy array of ``dtype``; an index
        of several axes (episodes of tasks) gives those axes."""
        pos = self._positions(idx)
        if not isinstance(pos, slice) and pos.ndim != 1:
            out = self._read_at(pos.ravel())
            return out.reshape(*pos.shape, *self.sample_shape)
        return self._read_at(pos)

    def _read_at(self, pos):
        if isinstance(pos, slice):
            block = self.source.read(pos)
        elif len(pos) and np.all(np.diff(pos) == 1):  # consecutive: one slice
            block = self.source.read(slice(int(pos[0]), int(pos[-1]) + 1))
        else:  # distinct rows in increasing order for the read (h5py), then as asked
            unique, inverse = np.unique(pos, return_inverse=True)
            block = self.source.read(unique)[inverse]
        return self._cast(block)

    def _cast(self, block):
        if block.dtype.kind not in "biuf":
            raise ValueError(f"X holds values of dtype {block.dtype}; the network reads "
                             "numbers (bool, integers or floats).")
        if block.dtype.kind == "f" and not np.isfinite(block).all():
            raise ValueError("X contains NaN or infinity (found while reading a batch). "
                             "Impute or drop those rows first.")
        size = int(np.prod(self.sample_shape))
        if block.size != len(block) * size:
            raise ValueError(f"X has samples of shape {block.shape[1:]}, but the estimator "
                             f"reads samples of shape {self.sample_shape}. Give samples of "
                             "the fitted shape.")
        block = block.reshape(len(block), *self.sample_shape)
        if block.dtype.kind == "f":  # overflow or underflow, as an array is checked
            check_representable(block, self.dtype, "X (found while reading a batch)")
        return np.ascontiguousarray(block, dtype=self.dtype)

    def __getitem__(self, idx):
        return torch.from_numpy(self.read(idx))

    def batches(self, index, generator=None):
        """Tensors of the rows of each entry of ``index``, in order.

        With the source's ``num_workers``, a ``DataLoader`` reads them in
        worker processes, seeded from ``generator``.
        """
        workers = getattr(self.source, "num_workers", 0)
        if workers == 0:
            return _trimmed(self[i] for i in index)
        if generator is None:  # prediction: leave the caller's generators alone
            generator = torch.Generator().manual_seed(0)
        loader = DataLoader(_Reads(self, index), batch_size=None, num_workers=workers,
                            generator=generator)
        try:
            batches = iter(loader)
        except Exception as exc:
            text = str(exc).lower()
            if "pickl" in text or "serializ" in text:  # the data, sent to the workers
                raise ValueError(f"num_workers={workers}: the data could not be sent to the "
                                 f"worker processes ({type(exc).__name__}: {exc}). "
                                 f"{_pickled_advice()}") from exc
            if isinstance(exc, (OSError, RuntimeError, AssertionError)):
                raise ValueError(f"num_workers={workers}: worker processes could not start "
                                 f"here ({type(exc).__name__}: {exc}). Pass num_workers=0 to "
                                 "read in this process.") from exc
            raise
        return _trimmed(_until_done(batches))


def _pickled_advice():
    return (f"The workers start by {multiprocessing.get_start_method()} here and receive the "
            "data pickled: define its class at the top level of an importable module (not "
            "in a notebook or __main__), and keep lambdas and open handles out of it; or "
            "pass num_workers=0 to read in this process.")


def _malloc_trim():
    """glibc's ``malloc_trim``, or None (other C libraries)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def _trimmed(batches):
    """Yield ``batches``, handing freed memory back to the system every few.

    Each step allocates and frees the batch and the activations; glibc keeps
    what is freed (its thresholds rise with the block sizes it sees), and
    over an epoch of a large file the process's resident memory grew by
    about 2 KB per row here (past 5 GB for 4 million rows of 1x28x28).
    ``malloc_trim`` every ``TRIM_EVERY`` batches keeps it flat.
    """
    for i, batch in enumerate(batches):
        if _MALLOC_TRIM is not None and i % TRIM_EVERY == TRIM_EVERY - 1:
            _MALLOC_TRIM(0)
        yield batch


def _until_done(batches):
    """Yield from a ``DataLoader`` iterator, stopping its workers however it ends.

    A worker that dies raises here; the iterator's own cleanup runs only
    when it is collected, which a traceback holding it delays, and until
    then torch's SIGCHLD handler raises again in whatever runs next.
    """
    try:
        yield from batches
    except (ConnectionError, EOFError) as exc:
        # torch reports a dead worker when it has been reaped; read a moment
        # earlier, its end of the queue is just gone
        raise RuntimeError(f"A DataLoader worker exited unexpectedly: the connection to it "
                           f"was lost ({type(exc).__name__}: {exc}).") from exc
    except RuntimeError as exc:
        if "exited unexpectedly" in str(exc) and multiprocessing.get_start_method() != "fork":
            # a worker that cannot unpickle the data (a class of __main__) dies so
            raise RuntimeError(f"{exc} {_pickled_advice()}") from exc
        raise
    finally:
        batches._shutdown_workers()


def in_memory(X):
    """``X`` whole, in memory (a :class:`LazyRows` read; anything else as it is)."""
    return X.read(slice(None)) if isinstance(X, LazyRows) else X


class _Reads(Dataset):
    """Batch ``i`` of ``index`` as one item (a ``DataLoader`` of whole batches)."""

    def __init__(self, rows, index):
        self.rows, self.index = rows, list(index)

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        return self.rows[self.index[i]]
