"""Torch thread control for parallel workers."""

import contextlib
import multiprocessing
import os
from collections.abc import Iterator

import torch
from joblib import cpu_count

_LOKY_WORKER = "popen_loky_posix"


def _loky_workers():
    """Number of joblib (loky) worker processes beside this one, itself included.

    None outside a loky worker, or where ``/proc`` cannot tell (not Linux).
    """
    if not multiprocessing.current_process().name.startswith("LokyProcess"):
        return None
    parent = os.getppid()
    try:
        children = []
        # children are listed per thread of the parent: joblib may be started
        # from any of them
        for task in os.listdir(f"/proc/{parent}/task"):
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    children += f.read().split()
            except OSError:  # a thread that just ended
                continue
        count = 0
        for pid in children:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    count += _LOKY_WORKER.encode() in f.read()
            except OSError:  # a worker that just ended
                continue
    except OSError:
        return None
    return max(count, 1)


def worker_threads() -> int:
    """Torch threads a training call should use in this process.

    joblib's process workers (loky, also under Dask and Ray backends that
    honour it) set ``OMP_NUM_THREADS`` to ``cores // n_jobs``; use it so
    ``n_jobs`` workers share the cores instead of each taking all of them.
    But joblib keeps an ``OMP_NUM_THREADS`` the user exported (common on
    clusters and in container images): 2 exported on 2 cores gives each of
    2 workers 2 threads, and the fits run at half speed. So inside a loky
    worker the count is capped at ``cores // workers``. Elsewhere keep
    torch's current setting.
    """
    value = os.environ.get("OMP_NUM_THREADS", "")
    threads = int(value) if value.isdigit() and int(value) > 0 else torch.get_num_threads()
    workers = _loky_workers()
    if workers is not None:
        threads = min(threads, max(1, cpu_count() // workers))
    return threads


@contextlib.contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run a block with ``n_threads`` torch threads, then restore the setting.

    Parameters
    ----------
    n_threads : int
        Torch threads (``torch.set_num_threads``) inside the block.

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
