"""Torch thread control for parallel workers."""

import contextlib
import os

import torch


def worker_threads():
    """Torch threads a training call should use in this process.

    joblib's process workers (loky, also under Dask and Ray backends that
    honour it) set ``OMP_NUM_THREADS`` to ``cores // n_jobs``; use it so
    ``n_jobs`` workers share the cores instead of each taking all of them.
    Elsewhere keep torch's current setting.
    """
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run a block with ``n_threads`` torch threads, then restore the setting.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    previous = torch.get_num_threads()
    if n_threads != previous:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
