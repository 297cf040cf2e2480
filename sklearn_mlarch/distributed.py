"""Data-parallel training of one estimator over several processes.

:func:`fit_distributed` starts the processes itself; under ``torchrun`` a
script fits the estimator in every process instead, and the engine trains
it with torch's ``DistributedDataParallel`` (see the user guide's
:ref:`scale_out` page).
"""

import copy
import datetime
import os
import pickle
import tempfile
import time
import traceback
from numbers import Integral

import numpy as np
from joblib import cpu_count

from .exceptions import DistributedFitError

__all__ = ["fit_distributed"]

#: seconds a process waits for the others in a collective before failing
TIMEOUT = 300


def fit_distributed(estimator, X, y=None, *, n_processes=2, backend="gloo", **fit_params):
    """Fit ``estimator`` data-parallel over ``n_processes`` local processes.

    Each process fits a copy of ``estimator`` on all of ``X`` and ``y``,
    training on its share of every batch with torch's
    ``DistributedDataParallel``, which averages the gradients; the model
    equals a one-process fit with the same ``batch_size`` (the global batch)
    up to floating-point rounding. The fitted model of process 0 then
    replaces the estimator's state.

    Parameters
    ----------
    estimator : estimator
        A sklearn_mlarch estimator (or a scikit-learn meta-estimator or
        pipeline around one); ``random_state=None`` draws one seed shared by
        all processes.
    X : array-like
        Training data, as for ``estimator.fit``.
    y : array-like or None, default=None
        Targets, as for ``estimator.fit``.
    n_processes : int, default=2
        Number of processes; 1 fits in this process, as ``estimator.fit``.
    backend : {'gloo', 'nccl'}, default='gloo'
        ``torch.distributed`` backend: ``'gloo'`` on CPUs; ``'nccl'`` on GPUs,
        one per process (process ``r`` trains on ``cuda:r`` when the
        estimator's ``device`` is ``'cuda'`` or ``'auto'``).
    **fit_params : dict
        Passed to ``estimator.fit`` (``sample_weight``, say).

    Returns
    -------
    estimator
        The fitted ``estimator`` itself.

    Raises
    ------
    DistributedFitError
        A process died (exit code or signal) or raised; the message names its
        rank and cause, and the estimator is left unchanged. A ``ValueError``
        raised by every process (bad parameters, a fit that cannot be
        data-parallel) is raised as is.
    ValueError
        ``n_processes`` or ``backend`` is invalid, or the fit cannot be exact
        when data-parallel (meta-learning episodes, multi-task losses,
        ``optimizer=LBFGS``, batches smaller than ``n_processes``).

    Notes
    -----
    Each process trains with ``cores // n_processes`` torch threads. Batch
    normalisation keeps per-process statistics (those of process 0 are kept)
    and dropout draws other masks than one process would: such networks
    train as well, but do not equal a one-process fit.

    On several GPUs or machines, launch a script with ``torchrun``: it calls
    ``torch.distributed.init_process_group("nccl")``, sets
    ``device=f"cuda:{local_rank}"`` (``local_rank`` from the environment
    variable ``LOCAL_RANK``), fits on the same data with an int
    ``random_state`` in every process, and saves the model in process 0.
    ``torchrun --nproc_per_node=4 train.py`` uses 4 GPUs of one machine;
    ``torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d
    --rdzv-endpoint=host0:29400 train.py`` on each of 2 machines uses 8.
    torchrun ends every process when one fails.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_mlarch import FeedForwardClassifier, fit_distributed
    >>> X, y = make_classification(n_samples=64, random_state=0)
    >>> clf = FeedForwardClassifier(batch_size=16, max_epochs=3, random_state=0)
    >>> fit_distributed(clf, X, y, n_processes=2).score(X, y)  # doctest: +SKIP
    0.8...
    """
    if not isinstance(n_processes, Integral) or isinstance(n_processes, bool) \
            or n_processes < 1:
        raise ValueError(f"n_processes must be an int >= 1, got {n_processes!r}.")
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' (CPUs) or 'nccl' (GPUs), got {backend!r}.")
    if n_processes == 1:
        return estimator.fit(X, y, **fit_params)
    import torch
    import torch.multiprocessing as mp

    if backend == "nccl" and torch.cuda.device_count() < n_processes:
        raise ValueError(f"backend='nccl' trains one process per GPU, but {n_processes} "
                         f"processes were asked for and this machine has "
                         f"{torch.cuda.device_count()} GPUs: pass n_processes <= the GPUs, "
                         "or backend='gloo' on CPUs.")
    # random_state=None: one seed drawn here, numpy's global one in every process
    seed = int(np.random.randint(2**31 - 1))
    threads = max(1, cpu_count() // n_processes)
    with tempfile.TemporaryDirectory(prefix="sklearn_mlarch_ddp_") as tmp:
        args = (n_processes, backend, tmp, seed, threads, estimator, X, y, fit_params)
        context = mp.start_processes(_worker, args=args, nprocs=n_processes, join=False,
                                     start_method=_start_method())
        try:
            while not context.join():
                pass
        except (mp.ProcessExitedException, mp.ProcessRaisedException) as exc:
            _raise_cause(exc, context, tmp, n_processes)
        finally:  # Ctrl-C, or any error here: no process trains on alone
            for process in context.processes:
                if process.is_alive():
                    process.terminate()
                    process.join(5)
        fitted = _load(os.path.join(tmp, "fitted.pkl"))
    if fitted is None:
        raise DistributedFitError("Process 0 of fit_distributed ended without its model. "
                                  "The estimator is unchanged.")
    if "device" in estimator.get_params(deep=False):  # the caller's, not cuda:<rank>
        fitted.set_params(device=estimator.get_params(deep=False)["device"])
    estimator.__dict__.clear()
    estimator.__dict__.update(fitted.__dict__)
    return estimator


def _raise_cause(exc, context, tmp, n_processes):
    """Raise the error of the process that failed first, not of those it took along.

    When a process fails, the others lose their connection to it and fail
    too (or are ended by torch): the cause is the earliest error that is not
    a lost connection, else a process that exited or was killed by itself.
    """
    import signal

    import torch.multiprocessing as mp

    errors = {rank: _load(os.path.join(tmp, f"error{rank}.pkl"))
              for rank in range(n_processes)}
    own = sorted((e[0], rank) for rank, e in errors.items() if e is not None and not e[2])
    died = [rank for rank, p in enumerate(context.processes)
            if errors[rank] is None and p.exitcode not in (0, None, -signal.SIGTERM)]
    unchanged = "the other processes were ended. The estimator is unchanged."
    if own:
        rank = own[0][1]
        error, text = errors[rank][1], errors[rank][3]
        if isinstance(error, ValueError):
            error.add_note(f"(raised in process {rank} of {n_processes} of fit_distributed; "
                           "the estimator is unchanged)")
            raise error from None
        raise DistributedFitError(f"Process {rank} of {n_processes} raised during "
                                  f"fit_distributed; {unchanged} Its error:\n{text}") from None
    if died or isinstance(exc, mp.ProcessExitedException):
        rank = died[0] if died else exc.error_index
        code = context.processes[rank].exitcode
        cause = (f"was killed by signal {signal.Signals(-code).name}" if code < 0 else
                 f"exited with code {code}")
        raise DistributedFitError(f"Process {rank} of {n_processes} {cause} during "
                                  f"fit_distributed; {unchanged}") from None
    raise DistributedFitError(f"Process {exc.error_index} of {n_processes} failed during "
                              f"fit_distributed; {unchanged} Its error:\n{exc}") from None


def _start_method():
    """'forkserver' where there is one, else 'spawn'.

    Both start clean processes (no threads, no CUDA state inherited). The
    fork server imports torch and the package once, for all later calls, and
    forks each process from there: a call after the first starts its
    processes in a fraction of a second instead of seconds each.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    # only heeded before the server starts (once per session)
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        ["sklearn_mlarch.neural_network", "torch._dynamo"])  # (the optimizers import it)
    return "forkserver"


def _load(path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def _worker(rank, n_processes, backend, tmp, seed, threads, estimator, X, y, fit_params):
    """One process of :func:`fit_distributed` (started by torch.multiprocessing)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by the engine's worker_threads
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    np.random.seed(seed)
    estimator = copy.deepcopy(estimator)
    if backend == "nccl":
        torch.cuda.set_device(rank)
        if str(estimator.get_params(deep=False).get("device")) in ("cuda", "auto"):
            estimator.set_params(device=torch.device("cuda", rank))
    dist.init_process_group(backend, init_method=f"file://{os.path.join(tmp, 'rendezvous')}",
                            rank=rank, world_size=n_processes,
                            timeout=datetime.timedelta(seconds=TIMEOUT))
    try:
        estimator.fit(X, y, **fit_params)
        if rank == 0:
            path = os.path.join(tmp, "fitted.pkl")
            with open(path + ".part", "wb") as f:
                pickle.dump(estimator, f)
            os.replace(path + ".part", path)
    except BaseException as exc:
        # (when, the exception, whether it is a lost connection to the others, its text)
        lost = isinstance(exc, dist.DistError) or any(
            word in str(exc) for word in ("gloo/transport", "NCCL", "Connection reset",
                                          "Connection closed"))
        error = (time.monotonic(), exc, lost, traceback.format_exc())
        try:
            with open(os.path.join(tmp, f"error{rank}.pkl"), "wb") as f:
                pickle.dump(error, f)
        except Exception:  # an exception that does not pickle: its text only
            with open(os.path.join(tmp, f"error{rank}.pkl"), "wb") as f:
                pickle.dump(error[:1] + (None,) + error[2:], f)
        raise
    finally:
        dist.destroy_process_group()
