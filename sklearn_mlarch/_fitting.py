"""What a fit guarantees: one thread at a time, nothing changed when it raises,
and a warm start only where the network it continues is still the one asked for."""

import contextlib
import threading

import numpy as np

from .exceptions import ConcurrentFitError

_FITTING = set()
_FITTING_LOCK = threading.Lock()


@contextlib.contextmanager
def _exclusive_fit(estimator):
    """Refuse to fit one estimator object from two threads at once."""
    with _FITTING_LOCK:
        if id(estimator) in _FITTING:
            raise ConcurrentFitError(
                f"This {type(estimator).__name__} is being fitted in another thread. An "
                "estimator object trains in one thread at a time: fit a clone "
                "(sklearn.base.clone) in each thread.")
        _FITTING.add(id(estimator))
    try:
        yield
    finally:
        with _FITTING_LOCK:
            _FITTING.discard(id(estimator))


@contextlib.contextmanager
def _restore_on_error(estimator):
    """Leave the estimator exactly as it was when the block raises (Ctrl-C included).

    Training never mutates the fitted net or target handler in place (it
    trains a copy), so restoring the attribute dictionary restores the whole
    fitted state.
    """
    snapshot = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(snapshot)
        raise


def _same(a, b):
    """Equality that treats NaN as equal to NaN and compares arrays elementwise."""
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    try:
        result = a == b
        return bool(result) if np.ndim(result) == 0 else bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return a is b


def _frozen(value):
    """Lists as tuples, recursively: parameter values compared across fits."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def setup_signature(estimator):
    """What a warm start must find unchanged: architecture, targets, training setup.

    Every parameter, nested ones of a wrapped estimator included, except
    those a warm start applies to the fitted network
    (``estimator._applied_on_warm_start``).
    """
    params = {}
    for name, value in estimator.get_params(deep=True).items():
        parts = name.split("__")
        if estimator._applied_on_warm_start & set(parts) or hasattr(value, "get_params"):
            continue
        params[name] = _frozen(value)
    config = estimator._engine_config()
    params["trunk_lr given"] = config.trunk_lr is not None
    return dict(network=estimator._reader()._network_class, params=params,
                callbacks=list(config.callbacks or []))


def check_unchanged(before, now, how="warm_start=True", fix="Set warm_start=False"):
    """Raise, naming them, when settings of a warm start's network changed.

    ``how`` names what continues the network (``warm_start=True`` or
    ``partial_fit``), ``fix`` what trains a new one."""
    changed = [k for k in before["params"]
               if not _same(before["params"][k], now["params"].get(k))]
    if before["network"] is not now["network"]:
        changed.append("network class")
    if (len(before["callbacks"]) != len(now["callbacks"])
            or any(a is not b for a, b in zip(before["callbacks"], now["callbacks"]))):
        changed.append("callbacks")
    if changed:
        raise ValueError(
            f"{how} continues the fitted network, but {', '.join(changed)} "
            f"changed since it was built. {fix} (or fit a clone) to train "
            "a new network with the new settings.")
