"""Safe saving and loading of fitted neural estimators.

A saved model is a folder with two files: ``config.json`` (the class, its
parameters and fitted attributes, as JSON) and ``weights.pt`` (the network's
tensors, read back with ``torch.load(weights_only=True)``, which refuses any
pickled object other than tensors and plain containers). Nothing in either
file can run code when loaded, unlike a pickle of the estimator.
"""

import json
import os
import pickle
from pathlib import Path

import numpy as np
import torch

FORMAT = "sklearn_mlarch.model/1"
_SKIP = {"net_", "_setup_signature_", "_y_columns"}


def _encode(value):
    if isinstance(value, np.ndarray):
        kind = "object" if value.dtype == object else value.dtype.str
        return {"__ndarray__": [_encode(v) for v in value.tolist()] if value.dtype == object
                else value.tolist(), "dtype": kind, "shape": list(value.shape)}
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: _encode(v) for k, v in value.items()}}
        return {"__pairs__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _decode(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            data = [_decode(v) for v in value["__ndarray__"]] if value["dtype"] == "object" \
                else value["__ndarray__"]
            out = np.empty(len(data), dtype=object) if value["dtype"] == "object" else None
            if out is not None:
                out[:] = data
                return out.reshape(value["shape"])
            return np.asarray(data, dtype=np.dtype(value["dtype"])).reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
        if "__pairs__" in value:
            return {_hashable(_decode(k)): _decode(v) for k, v in value["__pairs__"]}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def save_model(estimator, path):
    """Save a fitted neural estimator to the folder ``path`` (created if needed).

    Parameters
    ----------
    estimator : fitted estimator of this package
    path : str or path-like
        Folder to write ``config.json`` and ``weights.pt`` into.

    Returns
    -------
    path : pathlib.Path

    Notes
    -----
    Parameters that JSON cannot hold (callbacks, an optimizer class, a
    torch module as trunk, ``init_from``) are not saved: :func:`load_model`
    restores their defaults, or what you pass it. The optimizer state and
    the training history are not saved; the network's weights are.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_mlarch import CNNClassifier, load_model, save_model
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> clf = CNNClassifier(channels=(4,), max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> folder = save_model(clf, tempfile.mkdtemp())
    >>> bool((load_model(folder).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    net = getattr(estimator, "net_", None)
    if net is None:
        raise ValueError(f"save_model needs a fitted estimator; call fit on this "
                         f"{type(estimator).__name__} first.")
    params, dropped = {}, []
    for name, value in estimator.get_params(deep=False).items():
        try:
            params[name] = _encode(value)
        except TypeError:
            dropped.append(name)
    fitted = {}
    for name, value in vars(estimator).items():
        if name in _SKIP or name in params or name in dropped:
            continue
        if name.endswith("_") or name.startswith("_"):
            try:
                fitted[name] = _encode(value)
            except TypeError as exc:
                raise ValueError(f"save_model cannot store the fitted attribute {name!r}: "
                                 f"{exc}.") from exc
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "class": type(estimator).__name__, "params": params,
              "not_saved": dropped, "fitted": fitted, "device": str(net.device)}
    (path / "config.json").write_text(json.dumps(config, indent=1))
    state = {k: v.detach().cpu() for k, v in net.module_.state_dict().items()}
    torch.save(state, path / "weights.pt")
    return path


def load_model(path, **params):
    """Load an estimator saved with :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The folder given to :func:`save_model`.
    **params
        Parameters to set on the loaded estimator, e.g. the ``trunk`` module
        of a multi-task model or ``device='cuda'``. A model saved on a GPU
        loads on the CPU when this machine has no CUDA device.

    Returns
    -------
    estimator : fitted estimator
        Predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        When the folder is not a saved model, or ``weights.pt`` holds anything
        but tensors (a pickle payload that could run code is refused).
    """
    from .utils import all_estimators

    path = Path(path)
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a model saved by save_model "
                         f"(config.json unreadable: {exc}).") from exc
    if config.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} has format {config.get('format')!r}, "
                         f"not {FORMAT!r}.")
    classes = dict(all_estimators())
    cls = classes.get(config["class"])
    if cls is None or not hasattr(cls, "_new_net"):
        raise ValueError(f"{config['class']!r} is not a neural estimator of sklearn_mlarch.")
    try:
        state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"Refusing to load {os.fspath(path / 'weights.pt')!r}: it holds objects other "
            "than tensors (a pickle payload that could run code when loaded). Load only "
            "files written by save_model.") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{os.fspath(path / 'weights.pt')!r} is not a dict of tensors.")
    values = {k: _decode(v) for k, v in config["params"].items()}
    if "trunk" in config.get("not_saved", []) and "trunk" not in params:
        raise ValueError("This model's trunk was a torch module, which save_model does not "
                         "store: pass the same module, load_model(path, trunk=module).")
    if str(values.get("device", "cpu")).startswith("cuda") and not torch.cuda.is_available():
        values["device"] = "cpu"
    estimator = cls(**{**values, **params})
    for name, value in config["fitted"].items():
        setattr(estimator, name, _decode(value))
    net = estimator._new_net(estimator._n_outputs, init_hook=_load_state(state))
    estimator._setup_signature_ = estimator._setup_signature()
    estimator.net_ = net
    return estimator


class _load_state:
    def __init__(self, state):
        self.state = state

    def __call__(self, module):
        missing, unexpected = module.load_state_dict(self.state, strict=False)
        if missing or unexpected:
            raise ValueError(f"The saved weights do not fit the network built from the "
                             f"configuration (missing {missing}, unexpected {unexpected}).")
        return module
