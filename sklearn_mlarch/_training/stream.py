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
import itertools
import mmap
import os
import tempfile

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

#: rows whose labels are read to learn a dataset's y (one streaming pass)
LABEL_PASS_CHUNK = 256
#: items of a Dataset compared with its ``targets`` attribute before trusting it
TARGETS_PROBES = 5
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


def _as_numpy(value, what):
    if hasattr(value, "compute"):  # Dask
        value = value.compute()
    if type(value).__module__.startswith("PIL"):
        raise ValueError(
            f"The dataset yields {what} as PIL images. Give it a transform that makes "
            "tensors or arrays of shape (C, H, W), e.g. torchvision.transforms.v2."
            "PILToTensor() (channels first).")
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class ArraySource:
    """Rows of an array-like read by indexing (memmap, h5py, zarr, Dask).

    A NumPy memmap of a whole file is read with ``os.pread``, not through
    the mapping: pages touched through a mapping count in the process's
    resident memory until the kernel evicts them, so one epoch over a
    memmap would look like (and, under memory limits, act like) holding
    the whole file. Pickled (for a worker process), such a source carries
    the file's name, not its data.

    ``fd``: an open file of the memmap's data (a spooled stream, whose
    unlinked file has no name to open).
    """

    def __init__(self, array, num_workers=0, fd=None):
        self.array, self.num_workers, self.fd = array, num_workers, fd
        self.file = _mapped_file(array)

    def __len__(self):
        return int(self.array.shape[0])

    def labels(self):
        return None

    def read(self, idx):
        """Rows ``idx`` (a slice or increasing indices; h5py needs increasing)."""
        if self.file is None and self.fd is None:
            return _as_numpy(self.array[idx], "samples")
        rows = np.arange(len(self))[idx] if isinstance(idx, slice) else np.asarray(idx)
        return self._pread(rows)

    def _pread(self, rows):
        a = self.array
        row_bytes = a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
        out = np.empty((len(rows), *a.shape[1:]), dtype=a.dtype)
        flat = out.reshape(-1).view(np.uint8)
        # runs of consecutive rows, each one read
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        fd = self.fd if self.fd is not None else os.open(self.file, os.O_RDONLY)
        try:
            for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
                _pread_into(fd, flat[start * row_bytes:stop * row_bytes],
                            a.offset + int(rows[start]) * row_bytes, self.file)
        finally:
            if self.fd is None:
                os.close(fd)
        return out

    def __getstate__(self):
        state = dict(vars(self))
        if self.file is not None:  # the file's name and layout, not its data
            a = self.array
            state["array"] = (self.file, a.dtype, a.shape, a.offset)
        elif self.fd is not None:
            raise TypeError("A stream spooled to an unlinked file cannot be sent to another "
                            "process: read it with num_workers=0.")
        return state

    def __setstate__(self, state):
        if isinstance(state["array"], tuple):
            file, dtype, shape, offset = state["array"]
            state["array"] = np.memmap(file, dtype=dtype, mode="r", shape=shape, offset=offset)
        vars(self).update(state)


def _pread_into(fd, buffer, offset, name):
    """Fill ``buffer`` from ``fd`` at ``offset`` (a read returns at most ~2 GiB)."""
    view, done = memoryview(buffer), 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got == 0:
            raise ValueError(f"X's file {name or '(a spooled stream)'} is shorter than its "
                             "shape says: was it truncated while being read?")
        done += got


def _mapped_file(array):
    """The file a C-ordered memmap maps from its first row on, or None."""
    if not (isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap)
            and array.flags.c_contiguous and getattr(array, "filename", None)):
        return None
    return array.filename if array.dtype.byteorder in "=|" else None


class DatasetSource:
    """Items ``(x, y)`` or ``x`` of a map-style torch ``Dataset``."""

    def __init__(self, dataset, num_workers=0):
        self.dataset, self.num_workers = dataset, num_workers
        self.pairs = _pairs(dataset[0] if len(dataset) else None)

    def __len__(self):
        return len(self.dataset)

    def _x(self, item):
        return item[0] if self.pairs else item

    def read(self, idx):
        idx = range(*idx.indices(len(self))) if isinstance(idx, slice) else idx
        xs = [_as_numpy(self._x(self.dataset[int(i)]), "samples") for i in idx]
        if len({x.shape for x in xs}) > 1:
            raise ValueError(f"The dataset yields samples of different shapes "
                             f"{sorted({x.shape for x in xs})}: give it a transform that "
                             "makes one shape (resize or crop).")
        return np.stack(xs)

    def _label(self, i):
        return _as_numpy(self.dataset[int(i)][1], "labels")

    def labels(self):
        """The dataset's labels: its ``targets`` attribute where the items agree
        with it, else one pass over the items."""
        if not self.pairs:
            raise ValueError(
                "The dataset yields samples without labels: yield (x, y) pairs, or pass y.")
        targets = getattr(self.dataset, "targets", None)
        # torchvision keeps raw labels in targets and applies target_transform
        # per item; a filtered dataset may keep stale targets: check a few items
        if (targets is not None and len(targets) == len(self)
                and getattr(self.dataset, "target_transform", None) is None):
            targets = _as_numpy(targets, "labels")
            probe = np.unique(np.linspace(0, len(self) - 1, TARGETS_PROBES).astype(int))
            if all(np.array_equal(targets[i], self._label(i)) for i in probe):
                return targets
        return np.array([self._label(i) for i in range(len(self))])


class IterableSource:
    """Items of an ``IterableDataset``, read once, in order."""

    def __init__(self, dataset, num_workers=0):
        if num_workers:
            raise ValueError(
                f"num_workers={num_workers} with an IterableDataset: each worker would read "
                "the whole stream (torch leaves sharding it to the dataset). Pass "
                "num_workers=0, or a map-style Dataset.")
        self.dataset, self.num_workers = dataset, 0

    def chunks(self, size):
        """Consecutive ``(X, y or None)`` blocks of ``size`` items."""
        items = iter(self.dataset)
        while True:
            block = list(itertools.islice(items, size))
            if not block:
                return
            pairs = _pairs(block[0])
            X = np.stack([_as_numpy(b[0] if pairs else b, "samples") for b in block])
            yield X, (np.array([_as_numpy(b[1], "labels") for b in block]) if pairs else None)

    def spool(self):
        """Write the stream once to an unlinked temporary file.

        ``(ArraySource over the file, labels or None)``: training reads it
        in shuffled batches like a memmap (with pread), then the file is gone.
        """
        file = tempfile.TemporaryFile(prefix="sklearn_mlarch-")
        labels, n, first = [], 0, None
        try:
            for X, y in self.chunks(LABEL_PASS_CHUNK):
                first = X if first is None else first
                if X.shape[1:] != first.shape[1:] or X.dtype != first.dtype:
                    raise ValueError(
                        f"The IterableDataset yields samples of shape {X.shape[1:]} "
                        f"({X.dtype}) after samples of shape {first.shape[1:]} "
                        f"({first.dtype}): yield one shape and dtype.")
                file.write(np.ascontiguousarray(X).tobytes())
                labels.append(y)
                n += len(X)
            file.flush()
            if first is None:
                raise ValueError("X, an IterableDataset, yielded no samples.")
        except OSError as exc:
            file.close()
            raise OSError(f"Writing the IterableDataset to a temporary file (to read it in "
                          f"shuffled batches) failed: {exc}. Point TMPDIR at a disk with "
                          "room, or pass a map-style Dataset or a memmap.") from exc
        except BaseException:
            file.close()
            raise
        array = np.memmap(file, dtype=first.dtype, mode="r", shape=(n, *first.shape[1:]))
        y = None if labels[0] is None else np.concatenate(labels)
        source = ArraySource(array, fd=file.fileno())
        source.spool_file = file  # open as long as the source lives
        return source, y


def _pairs(item):
    """Whether a dataset's item is ``(x, y)`` (else it is ``x``); other tuples raise."""
    if isinstance(item, (tuple, list)) and len(item) != 2:
        raise ValueError(f"The dataset yields items of {len(item)} parts; yield (x, y) "
                         "pairs, or samples x alone (then pass y).")
    return isinstance(item, (tuple, list))


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
        except (OSError, RuntimeError, AssertionError) as exc:
            raise ValueError(f"num_workers={workers}: worker processes could not start "
                             f"here ({type(exc).__name__}: {exc}). Pass num_workers=0 to read "
                             "in this process.") from exc
        return _trimmed(_until_done(batches))


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
