"""Where the fits of a search run: joblib's backends, or Dask futures.

A search hands the engine fold fits (:class:`FoldFit`) and gets back, per
fit, the scores of ``_fit_and_score`` and the fitted model. Two engines:

- :class:`JoblibEngine`: waves through ``joblib.Parallel`` (whatever backend
  ``joblib.parallel_config`` selects: loky, threads, Dask, Ray), and, for
  the asynchronous scheduler, a loky process pool (or the calling process
  when ``n_jobs`` is 1). Models travel back to the driver and out again.
- :class:`DaskEngine`, used when ``parallel_config(backend="dask")`` is
  active: ``X`` and ``y`` are sent to the workers once, every fit is a
  Dask future, and a fitted model stays on the worker that trained it (the
  driver holds a future), so continuing it at the next rung moves no
  weights. A worker that dies is retried by Dask; a fit that keeps killing
  workers is reported as a failed fit (``error_score``), never a hang.
"""

import asyncio
import concurrent.futures
import operator
import time
import traceback
from dataclasses import dataclass, field, replace

from joblib import cpu_count
from joblib.parallel import get_active_backend
from sklearn.model_selection._validation import _fit_and_score
from sklearn.utils.parallel import Parallel, delayed

from ._continuation import PartialFitSteps

# a fit lost with its worker and not recomputed within this time is reported failed
LOST_AFTER_S = 300.0


@dataclass
class FoldFit:
    """One fit of one candidate on one fold, and what to do with the model after."""

    estimator: object  # an estimator, or a Dask future of one
    train: object
    test: object
    parameters: dict = None
    after_fit: dict = field(default_factory=dict)  # set_params once trained
    partial_fit: tuple = None  # (n_calls, classes): train by partial_fit calls
    split_progress: tuple = None
    candidate_progress: tuple = None


def run_fold_fit(fit, X, y, fit_kwargs, estimator=None):
    """``(result, model)``: ``_fit_and_score`` of ``fit``; the model ready to continue.

    ``estimator`` replaces ``fit.estimator`` when given: Dask resolves a
    future of a model only as an argument of its own.
    """
    estimator = fit.estimator if estimator is None else estimator
    if fit.partial_fit is not None:
        estimator = PartialFitSteps(estimator, *fit.partial_fit)
    result = _fit_and_score(estimator, X, y, train=fit.train, test=fit.test,
                            parameters=fit.parameters, split_progress=fit.split_progress,
                            candidate_progress=fit.candidate_progress, **fit_kwargs)
    model = result.pop("estimator", None)
    if isinstance(model, PartialFitSteps):
        model = model.estimator
    if result["fit_error"] is not None:
        model = None
    elif fit.after_fit:
        model.set_params(**fit.after_fit)
    return result, model


def failed_result(fit, error, fit_kwargs):
    """The record of a fit that never returned (its worker died), as a failed fit."""
    if fit_kwargs["error_score"] == "raise":
        raise error
    result = {"fit_error": "".join(traceback.format_exception(error)),
              "test_scores": fit_kwargs["error_score"], "n_test_samples": len(fit.test),
              "fit_time": 0.0, "score_time": 0.0}
    if fit_kwargs.get("return_train_score"):
        result["train_scores"] = fit_kwargs["error_score"]
    return result


def _value(x):
    return x


def _run_with_data(fit, X, y, fit_kwargs):
    return run_fold_fit(fit, X, y, fit_kwargs)


class JoblibEngine:
    """Fits through joblib; models come back to the driver."""

    def __init__(self, X, y, fit_kwargs, n_jobs, pre_dispatch):
        self.X, self.y, self.fit_kwargs = X, y, fit_kwargs
        self.n_jobs, self.pre_dispatch = n_jobs, pre_dispatch
        self._parallel = self._pool = None

    def __enter__(self):
        self._parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        self._parallel.__enter__()
        return self

    def __exit__(self, *exc):
        self._parallel.__exit__(*exc)
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def wave(self, fits):
        """Run ``fits`` and return their ``(result, model)`` in order."""
        return self._parallel(delayed(run_fold_fit)(fit, self.X, self.y, self.fit_kwargs)
                              for fit in fits)

    # asynchronous use
    def submit(self, fit):
        n_jobs = _processes(self.n_jobs)
        if n_jobs == 1:
            future = concurrent.futures.Future()
            future.set_result(run_fold_fit(fit, self.X, self.y, self.fit_kwargs))
            return future
        if self._pool is None:
            from joblib.externals.loky import get_reusable_executor

            self._pool = get_reusable_executor(
                max_workers=n_jobs,
                env={"OMP_NUM_THREADS": str(max(1, cpu_count() // n_jobs))})
        return self._pool.submit(_run_with_data, fit, self.X, self.y, self.fit_kwargs)

    def wait_any(self, futures):
        done, _ = concurrent.futures.wait(futures, return_when="FIRST_COMPLETED")
        return done

    def outcome(self, future, fit):
        try:
            return future.result()
        except Exception as error:  # a worker process that died (BrokenProcessPool)
            return failed_result(fit, error, self.fit_kwargs), None


class DaskEngine:
    """Fits as Dask futures; fitted models stay on the worker that trained them."""

    def __init__(self, client, X, y, fit_kwargs):
        self.client, self.fit_kwargs = client, fit_kwargs
        self.X, self.y = X, y
        self._lost_since = {}  # future key -> when it was first seen lost (see _settle)

    def __enter__(self):
        # X and y as the results of tasks, not scattered data: a worker that
        # dies takes its copy with it, and Dask recomputes a task's result
        # but cannot recompute scattered data
        self._X = self.client.submit(_value, self.X, pure=False)
        self._y = self.client.submit(_value, self.y, pure=False)
        return self

    def __exit__(self, *exc):
        self._X = self._y = None

    def submit(self, fit):
        both = self.client.submit(run_fold_fit, replace(fit, estimator=None), self._X,
                                  self._y, self.fit_kwargs, fit.estimator, pure=False)
        result = self.client.submit(operator.itemgetter(0), both, pure=False)
        model = self.client.submit(operator.itemgetter(1), both, pure=False)
        result.model_future = model
        return result

    def wait_any(self, futures):
        return _settle(list(futures), any_=True, lost_since=self._lost_since)

    def outcome(self, future, fit):
        try:
            result = future.result()
        except Exception as error:  # KilledWorker after Dask's retries, or lost data
            return failed_result(fit, error, self.fit_kwargs), None
        model = future.model_future if result["fit_error"] is None else None
        return result, model

    def wave(self, fits):
        futures = [self.submit(fit) for fit in fits]
        _settle(futures, lost_since=self._lost_since)
        return [self.outcome(f, fit) for f, fit in zip(futures, fits)]


_SETTLED = ("finished", "error", "cancelled")


def _settle(futures, any_=False, poll=0.5, lost_after=LOST_AFTER_S, lost_since=None):
    """Wait until every future (``any_``: one) has finished, failed or been cancelled.

    Returns the settled futures. The futures' states are polled instead of
    iterating :func:`distributed.as_completed`, which can wait forever when a
    worker restarts (dask/distributed#6074). A future lost with its worker is
    normally recomputed by Dask; one still lost after ``lost_after`` seconds
    is cancelled, so that it is reported as a failed fit rather than awaited.
    ``lost_since`` (future key -> when it was first seen lost) carries that
    clock across calls: the asynchronous scheduler calls once per finished fit.
    """
    from distributed import wait

    lost_since = {} if lost_since is None else lost_since
    while True:
        settled = {f for f in futures if f.status in _SETTLED}
        if len(settled) == len(futures) or (any_ and settled):
            return settled
        pending = [f for f in futures if f not in settled]
        try:
            wait(pending, timeout=poll, return_when="FIRST_COMPLETED")
        except (TimeoutError, asyncio.TimeoutError):  # distinct classes before Python 3.11
            pass
        except Exception:
            if not any(f.cancelled() for f in pending):
                raise  # not a cancelled future (a closed client, say): never loop on it
            time.sleep(poll)  # a future cancelled while waiting: look again, after a pause
        now = time.monotonic()
        for f in pending:
            if f.status != "lost":
                lost_since.pop(f.key, None)
            elif now - lost_since.setdefault(f.key, now) > lost_after:
                f.cancel()


def make_engine(X, y, fit_kwargs, n_jobs, pre_dispatch):
    """The Dask engine under ``parallel_config(backend='dask')``, else the joblib one."""
    backend, _ = get_active_backend()
    client = getattr(backend, "client", None)
    if type(backend).__name__ == "DaskDistributedBackend" and client is not None:
        return DaskEngine(client, X, y, fit_kwargs)
    return JoblibEngine(X, y, fit_kwargs, n_jobs, pre_dispatch)


def _processes(n_jobs):
    """joblib's meaning of ``n_jobs`` for processes: None is 1, -1 all cores, -2 all but one."""
    if n_jobs is None:
        return 1
    return max(cpu_count() + 1 + n_jobs, 1) if n_jobs < 0 else n_jobs


def worker_slots(engine, n_jobs):
    """How many fits can run at once: Dask's threads, or joblib's effective n_jobs."""
    if isinstance(engine, DaskEngine):
        return max(1, sum(engine.client.nthreads().values()))
    return _processes(n_jobs)
