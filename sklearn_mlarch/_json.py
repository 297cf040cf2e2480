"""JSON encoding of estimator parameters and fitted attributes for save_model.

JSON holds ``None``, booleans, numbers, strings, lists and string-keyed
objects. Everything else is written as a tagged object, and every Python
dict is tagged, so that a tag can never be confused with user data:

``{"__dict__": {key: value}}``
    A dict whose keys are all strings.
``{"__pairs__": [[key, value], ...]}``
    Any other dict (integer class labels as keys, for instance).
``{"__tuple__": [...]}``
    A tuple.
``{"__ndarray__": [...], "dtype": str, "shape": [...]}``
    A numpy array of booleans, integers, floats or strings (values as nested
    lists), of objects (the encoded elements in C order) or of datetime64 /
    timedelta64 (their int64 counts of the dtype's unit, so exact, NaT
    included).
``{"__npscalar__": int, "dtype": str}``
    A numpy datetime64 or timedelta64 scalar, stored the same way.
``{"__estimator__": class name, "params": {name: value}}``
    An estimator of this package given as a parameter (the estimator of a
    meta-estimator): its class, found again in
    :func:`sklearn_mlarch.utils.all_estimators`, and its parameters, encoded
    recursively. It is stored unfitted.

Other numpy scalars are stored as the Python number or string they hold.
Any other value (a callable, a torch module, a complex number, bytes...)
cannot be encoded: :func:`encode` raises :class:`Unencodable`.
"""

import numpy as np
from sklearn.base import BaseEstimator

# dtype kinds: boolean, signed and unsigned integers, floats, unicode strings
_PLAIN_KINDS = "biufU"
_TIME_KINDS = "mM"


class Unencodable(TypeError):
    """A value that the JSON encoding cannot hold."""


def _package_estimator_class(value):
    """The class of ``value`` when it is a public estimator of this package, else None."""
    if not isinstance(value, BaseEstimator):
        return None
    from .utils import all_estimators

    cls = dict(all_estimators()).get(type(value).__name__)
    return cls if cls is type(value) else None


def encode_params(params, dropped=None, prefix=""):
    """Encode a dict of parameters, listing those that cannot be encoded.

    Parameters
    ----------
    params : dict
        Parameter name to value, as from ``get_params(deep=False)``.
    dropped : list or None, default=None
        Where the names (with ``prefix``) of parameters that cannot be encoded
        are appended; they are left out of the result. With None, such a
        parameter raises :class:`Unencodable` instead.
    prefix : str, default=""
        Prepended to the names appended to ``dropped``, e.g. ``"estimator__"``
        for the parameters of a nested estimator.

    Returns
    -------
    encoded : dict
        JSON-ready parameter values.
    """
    encoded = {}
    for name, value in params.items():
        try:
            encoded[name] = encode(value, dropped, prefix=f"{prefix}{name}__")
        except Unencodable:
            if dropped is None:
                raise
            dropped.append(f"{prefix}{name}")
    return encoded


def encode(value, dropped=None, prefix=""):
    """JSON-ready form of ``value``, tagged as the module docstring describes.

    Parameters
    ----------
    value : object
    dropped : list or None, default=None
        Only used when ``value`` is an estimator of this package: the names
        of its parameters that cannot be encoded are appended (with
        ``prefix``) and left out. Estimators inside containers are encoded
        whole or not at all.
    prefix : str, default=""
        The nested name of ``value``'s parameters, e.g. ``"estimator__"``.

    Returns
    -------
    encoded : None, bool, int, float, str, list or dict

    Raises
    ------
    Unencodable
        When ``value`` (or something inside it) cannot be stored as JSON.
    """
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, np.generic):
        if value.dtype.kind in _TIME_KINDS:
            return {"__npscalar__": int(value.view(np.int64)), "dtype": value.dtype.str}
        if value.dtype.kind not in _PLAIN_KINDS:
            raise Unencodable(f"cannot store a numpy {value.dtype} scalar as JSON")
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: encode(v) for k, v in value.items()}}
        return {"__pairs__": [[encode(k), encode(v)] for k, v in value.items()]}
    if _package_estimator_class(value) is not None:
        return {"__estimator__": type(value).__name__,
                "params": encode_params(value.get_params(deep=False), dropped, prefix)}
    raise Unencodable(f"cannot store {type(value).__name__} as JSON")


def _encode_array(value):
    kind = value.dtype.kind
    if kind == "O":
        data = [encode(v) for v in value.ravel(order="C")]
    elif kind in _TIME_KINDS:
        data = value.view(np.int64).tolist()
    elif kind in _PLAIN_KINDS:
        data = value.tolist()
    else:
        raise Unencodable(f"cannot store a numpy array of dtype {value.dtype} as JSON")
    return {"__ndarray__": data, "dtype": "object" if kind == "O" else value.dtype.str,
            "shape": list(value.shape)}


def decode(value):
    """Inverse of :func:`encode`.

    Raises
    ------
    ValueError
        When ``value`` is not something :func:`encode` writes, or names a
        class that is not an estimator of this package.
    """
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    keys = set(value)
    if keys == {"__dict__"} and isinstance(value["__dict__"], dict):
        return {k: decode(v) for k, v in value["__dict__"].items()}
    if keys == {"__pairs__"}:
        return {_hashable(decode(k)): decode(v) for k, v in value["__pairs__"]}
    if keys == {"__tuple__"}:
        return tuple(decode(v) for v in value["__tuple__"])
    if keys == {"__ndarray__", "dtype", "shape"}:
        return _decode_array(value["__ndarray__"], value["dtype"], value["shape"])
    if keys == {"__npscalar__", "dtype"}:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in _TIME_KINDS:
            raise ValueError(f"a numpy scalar of dtype {dtype} is not stored tagged")
        return np.array(int(value["__npscalar__"]), dtype=np.int64).view(dtype)[()]
    if keys == {"__estimator__", "params"} and isinstance(value["params"], dict):
        return _decode_estimator(value["__estimator__"], value["params"])
    raise ValueError(f"unknown JSON object with keys {sorted(keys)}")


def _decode_array(data, dtype, shape):
    if dtype == "object":
        out = np.empty(len(data), dtype=object)
        for i, item in enumerate(data):  # one at a time: numpy would unpack tuples
            out[i] = decode(item)
        return out.reshape(shape)
    dtype = np.dtype(dtype)
    if dtype.kind in _TIME_KINDS:
        return np.asarray(data, dtype=np.int64).view(dtype).reshape(shape)
    if dtype.kind not in _PLAIN_KINDS:
        raise ValueError(f"a numpy array of dtype {dtype} is not stored by save_model")
    return np.asarray(data, dtype=dtype).reshape(shape)


def _decode_estimator(name, params):
    from .utils import all_estimators

    cls = dict(all_estimators()).get(name)
    if cls is None:
        raise ValueError(f"{name!r} is not an estimator of sklearn_mlarch")
    values = {k: decode(v) for k, v in params.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{name} does not accept the parameters {sorted(values)}: "
                         f"{exc}") from exc


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key
