"""Safe saving and loading of fitted neural estimators.

A saved model is a folder with two files: ``config.json`` (the class, its
parameters and fitted attributes, as JSON; see :mod:`sklearn_mlarch._json`
for the encoding) and ``weights.pt`` (the network's tensors, read back with
``torch.load(weights_only=True)``, which refuses any pickled object other
than tensors and plain containers). Nothing in either file can run code
when loaded, unlike a pickle of the estimator.

:func:`save_model` writes both files into a temporary folder next to the
target, flushes them to disk, and only then swaps that folder in: a save
that fails or is interrupted leaves the previous model untouched.

Fitted-state protocol
---------------------
Estimators take part in saving and loading through two optional methods;
without them the defaults below (:func:`default_fitted_state` and
:func:`default_restore_fitted_state`) apply.

``estimator._get_fitted_state() -> dict``
    Called by :func:`save_model` on the fitted estimator. Returns
    ``{name: value}``, the fitted attributes to store in ``config.json``,
    without the network (whose tensors, ``net_.module_.state_dict()``, go
    to ``weights.pt``) and without the parameters (stored from
    ``get_params(deep=False)``). Values must be encodable (None, bools,
    numbers, strings, lists, tuples, dicts, numpy arrays of those or of
    datetime64 / timedelta64); anything else makes save_model raise
    ValueError naming the attribute. Default: every instance attribute
    whose name ends in ``_`` or starts with ``_`` and is not a parameter,
    except ``net_``, ``_setup_signature_`` (rebuilt on load) and
    ``_y_columns`` (only used during fit).

``estimator._restore_fitted_state(fitted, weights) -> None``
    Called by :func:`load_model` on a new, unfitted estimator built from
    the saved parameters (and those passed to load_model). ``fitted`` is
    the decoded ``{name: value}`` written by ``_get_fitted_state``;
    ``weights`` is ``{name: torch.Tensor}`` (CPU) as written from
    ``net_.module_.state_dict()``. It must leave the estimator fitted,
    predicting as the saved one did; raise ValueError when the weights do
    not fit. Default: set each attribute, build ``net_`` with
    ``_new_net(self._n_outputs, init_hook=weights_loader(weights))`` and
    set ``_setup_signature_ = self._setup_signature()``.

Names in ``fitted`` must be fitted-state names, both when saved and when
loaded (so that a crafted ``config.json`` cannot replace a method): they
end in ``_`` or start with a single ``_``, do not start with ``__``, and are
not defined on the class (no method, property or class attribute of that
name). Parameters whose value is an estimator of this package (the
``estimator`` of a meta-estimator) are stored with their own parameters;
those of its parameters that cannot be stored are listed in ``not_saved``
by their nested name, e.g. ``estimator__callbacks``.
"""

import contextlib
import json
import os
import pickle
import secrets
import shutil
import stat
from pathlib import Path

import torch
from sklearn.base import BaseEstimator

from ._json import Unencodable, decode, encode, encode_params

FORMAT = "sklearn_mlarch.model/1"
CONFIG, WEIGHTS = "config.json", "weights.pt"
_NOT_FITTED_STATE = frozenset({"net_", "_setup_signature_", "_y_columns"})


def _fitted_name_problem(cls, name):
    """Why ``name`` cannot be a fitted attribute of ``cls``, or None when it can."""
    if not isinstance(name, str) or not name.isidentifier():
        return "it is not a Python identifier"
    if name.startswith("__"):
        return "names starting with two underscores are never fitted state"
    if not (name.endswith("_") or name.startswith("_")):
        return "fitted attributes end in '_' or start with a single '_'"
    if hasattr(cls, name):
        return f"{cls.__name__} defines {name!r} itself (a method or class attribute)"
    return None


def default_fitted_state(estimator):
    """The fitted attributes :func:`save_model` stores by default.

    Parameters
    ----------
    estimator : fitted estimator of this package

    Returns
    -------
    fitted : dict
        Every instance attribute whose name ends in ``_`` or starts with
        ``_`` and is not a parameter, except ``net_``, ``_setup_signature_``
        and ``_y_columns``.
    """
    params = estimator.get_params(deep=False)
    return {name: value for name, value in vars(estimator).items()
            if (name.endswith("_") or name.startswith("_"))
            and name not in params and name not in _NOT_FITTED_STATE}


def default_restore_fitted_state(estimator, fitted, weights):
    """Make ``estimator`` fitted from its saved attributes and network weights.

    Parameters
    ----------
    estimator : unfitted estimator of this package
        Built from the saved parameters.
    fitted : dict
        Fitted attribute name to value, set on the estimator.
    weights : dict of str to torch.Tensor
        The network's state dict, loaded into the network built by
        ``estimator._new_net(estimator._n_outputs, init_hook=...)``.

    Raises
    ------
    ValueError
        When the weights do not fit the network the configuration builds.
    """
    for name, value in fitted.items():
        setattr(estimator, name, value)
    if not hasattr(estimator, "_n_outputs"):
        raise ValueError("config.json lacks the fitted attribute '_n_outputs', so the "
                         "network cannot be rebuilt: save the model again with save_model.")
    estimator.net_ = estimator._new_net(estimator._n_outputs, init_hook=weights_loader(weights))
    estimator._setup_signature_ = estimator._setup_signature()


def weights_loader(weights):
    """An ``init_hook`` that loads ``weights`` into a freshly built network.

    Parameters
    ----------
    weights : dict of str to torch.Tensor

    Returns
    -------
    hook : callable
        ``hook(module) -> module``; raises ValueError naming the missing,
        unexpected and differently shaped tensors when the weights do not
        fit ``module``.
    """
    def hook(module):
        expected = module.state_dict()
        missing = [k for k in expected if k not in weights]
        unexpected = [k for k in weights if k not in expected]
        shapes = [f"{k} (saved {tuple(weights[k].shape)}, network {tuple(v.shape)})"
                  for k, v in expected.items()
                  if k in weights and weights[k].shape != v.shape]
        if missing or unexpected or shapes:
            problems = [f"{what}: {', '.join(names)}" for what, names in
                        [("missing", missing), ("unexpected", unexpected),
                         ("different shapes", shapes)] if names]
            raise ValueError(
                f"The saved weights do not fit the network built from config.json "
                f"({'; '.join(problems)}). config.json and weights.pt must come from the "
                f"same save_model call: save the model again.")
        module.load_state_dict(weights, strict=True)
        return module
    return hook


# ------------------------------------------------------------------ saving
def save_model(estimator: BaseEstimator, path: str | os.PathLike[str]) -> Path:
    """Save a fitted neural estimator to the folder ``path``.

    Parameters
    ----------
    estimator : fitted estimator of this package
    path : str or path-like
        A new folder (created, with its parents), an empty folder, or a
        folder written by an earlier save_model, which is replaced. The
        save is atomic: if it fails or is interrupted, the folder is left
        as it was.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        When the estimator is not fitted, a fitted attribute cannot be
        stored (nothing is written then), or ``path`` holds something other
        than a model saved by save_model (it is left alone).

    Notes
    -----
    Parameters that JSON cannot hold (callbacks, an optimizer class, a
    torch ``module``, ``init_from``, a callable ``augment``) are not saved:
    :func:`load_model` restores their defaults, or what you pass it. The optimizer state and
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
    text = _config_text(estimator, net)
    weights = {k: v.detach().cpu() for k, v in net.module_.state_dict().items()}
    target = _target_folder(path)
    _write_atomically(target, text, weights)
    return Path(path)


def _config_text(estimator, net):
    """``config.json``'s text; raises ValueError, before anything is written."""
    dropped = []
    params = encode_params(estimator.get_params(deep=False), dropped)
    hook = getattr(estimator, "_get_fitted_state", None)
    state = hook() if hook is not None else default_fitted_state(estimator)
    if not isinstance(state, dict):
        raise ValueError(f"{type(estimator).__name__}._get_fitted_state() must return a dict "
                         f"of fitted attributes, not {type(state).__name__}.")
    fitted = {}
    for name, value in state.items():
        problem = _fitted_name_problem(type(estimator), name)
        if problem is not None:
            raise ValueError(f"save_model cannot store the fitted attribute {name!r}: "
                             f"{problem}, so load_model would refuse it. Rename it.")
        try:
            fitted[name] = encode(value)
        except Unencodable as exc:
            raise ValueError(
                f"save_model cannot store the fitted attribute {name!r}: {exc}. Fitted "
                "attributes must be None, bools, numbers, strings, lists, tuples, dicts or "
                "numpy arrays of numbers, strings or datetimes.") from exc
    config = {"format": FORMAT, "class": type(estimator).__name__, "params": params,
              "not_saved": dropped, "fitted": fitted, "device": str(net.device)}
    try:
        return json.dumps(config, indent=1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"save_model cannot write the configuration as JSON: {exc}.") from exc


def _target_folder(path):
    """The real folder to write; refuses one holding anything but a saved model."""
    target = Path(os.path.realpath(os.fspath(path)))  # a link to a folder: its target
    if not target.name:
        raise ValueError(f"save_model cannot replace {os.fspath(path)!r}: pass a new or "
                         "empty folder.")
    if not os.path.lexists(target):
        return target
    if not target.is_dir():
        raise ValueError(f"{os.fspath(path)!r} exists and is not a folder: save_model "
                         "writes a folder; pass a new or empty folder.")
    entries = sorted(os.listdir(target))
    if entries and not _is_saved_model(target, entries):
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ValueError(
            f"{os.fspath(path)!r} is not empty and is not a model written by save_model (it "
            f"holds {shown}). save_model replaces the whole folder, so pass a new or empty "
            "folder.")
    return target


def _is_saved_model(folder, entries):
    if CONFIG not in entries or not set(entries) <= {CONFIG, WEIGHTS}:
        return False
    try:
        if not all(stat.S_ISREG(os.lstat(folder / e).st_mode) for e in entries):
            return False
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def _write_atomically(target, text, weights):
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{target.name}.{secrets.token_hex(8)}.saving"
    os.mkdir(tmp)  # a new name, so never an existing folder (mode from the umask)
    aside = tmp.with_name(tmp.name + "-old")
    try:
        _write_file(tmp / CONFIG, lambda f: f.write(text.encode("utf-8")))
        _write_file(tmp / WEIGHTS, lambda f: torch.save(weights, f))
        _fsync_folder(tmp)
        if os.path.lexists(target):
            os.rename(target, aside)
        os.rename(tmp, target)
        _fsync_folder(parent)
    except BaseException:
        _roll_back(target, tmp, aside)
        raise
    _remove_saved_model(aside)


def _roll_back(target, tmp, aside):
    """After a failure: the old model back in place, the temporary folder gone."""
    if not os.path.lexists(tmp):  # the new model is in place: only removing the old was left
        _remove_saved_model(aside)
        return
    if os.path.lexists(aside) and not os.path.lexists(target):
        with contextlib.suppress(OSError):  # else the old model is kept aside, never deleted
            os.rename(aside, target)
    shutil.rmtree(tmp, ignore_errors=True)


def _remove_saved_model(folder):
    """Delete a folder checked to hold only a saved model, and nothing else."""
    if not os.path.lexists(folder):
        return
    with contextlib.suppress(OSError):
        for name in set(os.listdir(folder)) & {CONFIG, WEIGHTS}:
            os.unlink(folder / name)
        os.rmdir(folder)  # fails, keeping them, if other files appeared meanwhile


def _write_file(path, write):
    with open(path, "xb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_folder(path):
    with contextlib.suppress(OSError):  # folders cannot be opened on Windows
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ----------------------------------------------------------------- loading
def load_model(path: str | os.PathLike[str], **params) -> BaseEstimator:
    """Load an estimator saved with :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The folder given to :func:`save_model`.
    **params
        Parameters to set on the loaded estimator, e.g. the ``module`` of a
        TorchModuleClassifier or ``device='cuda'``; nested names such as
        ``estimator__callbacks`` set those of a nested estimator. A model
        saved on a GPU loads on the CPU when this machine has no CUDA device.

    Returns
    -------
    estimator : fitted estimator
        Predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        When the folder is not a complete saved model, a file in it is a
        symbolic link, ``weights.pt`` holds anything but tensors (a pickle
        payload that could run code is refused) or tensors that do not fit
        the network, or ``config.json`` holds what save_model never writes.
    """
    path = Path(path)
    config = _read_config(path)
    cls = _estimator_class(config)
    with _open_regular(path, WEIGHTS) as f:
        weights = _read_weights(f, path / WEIGHTS)
    estimator = _instantiate(cls, config, params, path)
    fitted = {}
    for name, value in config["fitted"].items():
        problem = _fitted_name_problem(cls, name)
        if problem is not None:
            raise ValueError(f"{os.fspath(path / CONFIG)!r} has the fitted entry {name!r}, "
                             f"which load_model refuses: {problem}. save_model never writes "
                             "it; load only folders written by save_model.")
        fitted[name] = _decoded(value, f"the fitted entry {name!r}", path)
    restore = getattr(estimator, "_restore_fitted_state", None)
    if restore is not None:
        restore(fitted, weights)
    else:
        default_restore_fitted_state(estimator, fitted, weights)
    return estimator


@contextlib.contextmanager
def _open_regular(folder, name):
    """Open ``folder/name`` for reading: a regular file, never a link."""
    file = folder / name
    try:
        mode = os.lstat(file).st_mode
    except FileNotFoundError:
        what = ("is not a model saved by save_model" if name == CONFIG
                else "is not a complete model saved by save_model")
        raise ValueError(f"{os.fspath(folder)!r} {what}: {name} is missing. Pass the "
                         "folder given to save_model, or save the model again.") from None
    except OSError as exc:
        raise ValueError(f"{os.fspath(file)!r} cannot be read: {exc}.") from exc
    if stat.S_ISLNK(mode):
        raise ValueError(f"Refusing to load {os.fspath(file)!r}: it is a symbolic link, and "
                         "save_model writes only regular files. Copy the file it points to "
                         "in its place if you trust it.")
    if not stat.S_ISREG(mode):
        raise ValueError(f"Refusing to load {os.fspath(file)!r}: it is not a regular file.")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        f = os.fdopen(os.open(file, flags), "rb")
    except OSError as exc:
        raise ValueError(f"{os.fspath(file)!r} cannot be read: {exc}.") from exc
    with f:
        yield f


def _read_config(path):
    with _open_regular(path, CONFIG) as f:
        try:
            config = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{os.fspath(path)!r} is not a model saved by save_model "
                             f"(config.json unreadable: {exc}).") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else None
        raise ValueError(f"{os.fspath(path)!r} has format {found!r}, not {FORMAT!r}: it is "
                         "not a model saved by this version's save_model.")
    for key, kind in [("class", str), ("params", dict), ("fitted", dict),
                      ("not_saved", list)]:
        if not isinstance(config.get(key, [] if key == "not_saved" else None), kind):
            raise ValueError(f"{os.fspath(path / CONFIG)!r} is malformed: its {key!r} entry "
                             f"is not a {kind.__name__}. Save the model again.")
    return config


def _estimator_class(config):
    from .utils import all_estimators

    cls = dict(all_estimators()).get(config["class"])
    if cls is None or not (hasattr(cls, "_restore_fitted_state") or hasattr(cls, "_new_net")):
        raise ValueError(f"{config['class']!r} is not a neural estimator of sklearn_mlarch.")
    return cls


def _read_weights(f, file):
    try:
        state = torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"Refusing to load {os.fspath(file)!r}: it holds objects other than tensors (a "
            "pickle payload that could run code when loaded) or is damaged. Load only files "
            "written by save_model.") from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"{os.fspath(file)!r} is damaged or truncated ({exc}); save the "
                         "model again.") from exc
    if not (isinstance(state, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                            for k, v in state.items())):
        raise ValueError(f"{os.fspath(file)!r} is not a dict of tensors.")
    return state


def _decoded(value, what, path):
    try:
        return decode(value)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise ValueError(f"{os.fspath(path / CONFIG)!r} has {what} that cannot be read back "
                         f"({exc}): save_model never writes it; save the model "
                         "again.") from exc


def _instantiate(cls, config, params, path):
    """The unfitted estimator: saved parameters, then those passed to load_model."""
    values = {k: _decoded(v, f"the parameter {k!r}", path) for k, v in config["params"].items()}
    for name in config.get("not_saved", []):
        # a torch module: TorchModule*'s module (trunk before the redesign)
        if (name in ("module", "trunk") or str(name).endswith(("__module", "__trunk"))) \
                and name not in params:
            raise ValueError(f"This model's {name} was a torch module, which save_model does "
                             f"not store: pass the same module, load_model(path, "
                             f"{name}=module).")
    top = {k: v for k, v in params.items() if "__" not in k}
    try:
        estimator = cls(**{**values, **top})
    except TypeError as exc:
        raise ValueError(
            f"{cls.__name__} does not accept the parameters {sorted({**values, **top})} "
            f"from {os.fspath(path / CONFIG)!r} and load_model ({exc}). Pass only "
            f"parameters of {cls.__name__}; a config.json not written by save_model is "
            "refused.") from exc
    nested = {k: v for k, v in params.items() if "__" in k}
    if nested:
        estimator.set_params(**nested)
    if not torch.cuda.is_available():  # a model saved on a GPU loads on the CPU
        cuda = {k: "cpu" for k, v in estimator.get_params(deep=True).items()
                if (k == "device" or k.endswith("__device")) and k not in params
                and isinstance(v, str) and v.startswith("cuda")}
        if cuda:
            estimator.set_params(**cuda)
    return estimator
