"""Where streamed rows come from: array-likes, map-style and iterable datasets.

Each source reads rows by index (``read``) as NumPy arrays in the source's
own dtype and knows its labels where it carries them; :mod:`.stream` casts,
checks and batches them.
"""

import contextlib
import itertools
import mmap
import os
import tempfile

import numpy as np
import torch

#: rows whose labels are read to learn a dataset's y (one streaming pass)
LABEL_PASS_CHUNK = 256
#: items of a Dataset compared with its ``targets`` attribute before trusting it
TARGETS_PROBES = 5


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
                with _writing():
                    file.write(np.ascontiguousarray(X).tobytes())
                labels.append(y)
                n += len(X)
            with _writing():
                file.flush()  # a full disk says so here too
            if first is None:
                raise ValueError("X, an IterableDataset, yielded no samples.")
        except BaseException:
            _close_quietly(file)
            raise
        array = np.memmap(file, dtype=first.dtype, mode="r", shape=(n, *first.shape[1:]))
        y = None if labels[0] is None else np.concatenate(labels)
        source = ArraySource(array, fd=file.fileno())
        source.spool_file = file  # open as long as the source lives
        return source, y


@contextlib.contextmanager
def _writing():
    """Writes to the spool file: a failing disk raises the advice (only there: the
    dataset's own OSErrors, a missing image say, pass as they are)."""
    try:
        yield
    except OSError as exc:
        raise OSError(f"Writing the IterableDataset to a temporary file (to read it in "
                      f"shuffled batches) failed: {exc}. Point TMPDIR at a disk with "
                      "room, or pass a map-style Dataset or a memmap.") from exc


def _close_quietly(file):
    """Close ``file``, its buffered bytes dropped where they cannot be written."""
    try:
        file.close()
    except OSError:
        pass


def _pairs(item):
    """Whether a dataset's item is ``(x, y)`` (else it is ``x``); other tuples raise."""
    if isinstance(item, (tuple, list)) and len(item) != 2:
        raise ValueError(f"The dataset yields items of {len(item)} parts; yield (x, y) "
                         "pairs, or samples x alone (then pass y).")
    return isinstance(item, (tuple, list))
