"""The estimator base shared by every neural estimator of the package.

:class:`BaseNeuralEstimator` turns scikit-learn data into tensors (validation,
``input_shape``, dtype, sample weights, seeds) and trains a
:class:`~sklearn_mlarch._training.WeightedNeuralNet`. The classifier and
regressor mixins add the target handling. A concrete estimator only says
which network to build (``_build_network``) and how to read its input shape.
"""

import contextlib
import copy
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (_check_sample_weight, check_array,
                                      check_consistent_length, check_is_fitted, validate_data)
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from .networks.blocks import positive_ints
from ._training import (ArrayDataset, CrossEntropyObjective, DivergenceGuard, FreezeBlocks,
                        HoldoutSplit, NetworkBuildError, PlateauLR, SquaredErrorObjective,
                        TrainingNet, print_lines)

# max_epochs='auto': epochs for about AUTO_STEPS optimizer steps, within bounds
AUTO_STEPS = 1500
AUTO_MIN_EPOCHS = 10
AUTO_MAX_EPOCHS = 1000
# lr_schedule='plateau': halve the learning rate when the training loss has
# not improved (by torch's relative threshold 1e-4) for PLATEAU_PATIENCE
# epochs, down to a tenth of lr (the FCN recipe of Wang et al. 2017 halves
# after 50 epochs down to 1e-4; the budgets here are shorter)
PLATEAU_PATIENCE = 20
PLATEAU_FACTOR = 0.5
PLATEAU_MIN_RATIO = 0.1


def auto_batch_size(n_samples):
    """``batch_size='auto'``: a tenth of the samples, within [16, 64].

    Small data sets get several steps per epoch (Wang et al. 2017 train
    their FCN with ``min(n / 10, 16)``); larger ones 64.

    Examples
    --------
    >>> auto_batch_size(36), auto_batch_size(300), auto_batch_size(60000)
    (16, 30, 64)
    """
    return int(min(64, max(16, n_samples // 10)))

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# settings a warm start applies to the fitted network; a change to any other
# parameter (architecture, targets, training setup) needs a new network
_APPLIED_ON_WARM_START = ("lr", "weight_decay", "optimizer", "optimizer_kwargs", "trunk_lr",
                          "max_epochs", "batch_size", "verbose", "warm_start", "random_state",
                          "init_from", "class_weight")


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but this machine has no usable CUDA device. "
                         "Pass device='auto' (CUDA when available, else CPU) or 'cpu'.")
    return device


def fused_supported(optimizer, device, **kwargs):
    """Whether torch has a fused kernel of ``optimizer`` on ``device`` (Adam on
    the CPU since torch 2.4) that takes ``kwargs`` (not ``differentiable``,
    say); constructing it is the check torch makes."""
    try:
        optimizer([torch.zeros(1, device=device, requires_grad=True)], fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


# names of the callbacks _new_net adds, and skorch's defaults
_RESERVED_CALLBACK_NAMES = {"divergence_guard", "lr_plateau", "early_stopping", "freeze",
                            "epoch_timer", "train_loss", "valid_loss", "print_log"}

_FITTING = set()
_FITTING_LOCK = threading.Lock()


@contextlib.contextmanager
def _exclusive_fit(estimator):
    """Refuse to fit one estimator object from two threads at once."""
    with _FITTING_LOCK:
        if id(estimator) in _FITTING:
            raise RuntimeError(
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

    Training never mutates the fitted net in place (it trains a copy), so
    restoring the attribute dictionary restores the whole fitted state.
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


def backbone_input_shape(kind, n_features):
    """Sample shape of a flat row for a built-in backbone ``kind``, or None for others."""
    return {"cnn": (1, n_features), "rnn": (n_features, 1), "mlp": (n_features,)}.get(kind)


def check_backbone_input_shape(kind, shape, param):
    """Raise when ``shape`` has the wrong number of dimensions for backbone ``kind``."""
    wanted = {"cnn": (2, 3), "rnn": (2,), "mlp": (1,)}.get(kind)
    if wanted is not None and len(shape) not in wanted:
        raise ValueError(
            f"{param}={kind!r} takes samples of {' or '.join(map(str, wanted))} "
            f"dimensions, but the sample shape is {shape}. Pass input_shape (e.g. "
            "(1, 8, 8) for the CNN, (T, F) for the RNN) or flat rows for the MLP.")


def _check_representable(X, dtype, name="X"):
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


class BaseNeuralEstimator(BaseEstimator):
    """Common machinery of the neural estimators; not for direct use.

    Subclasses set ``_network_class`` (a plain torch module taking
    ``n_outputs`` and its sizes) and implement ``_network_kwargs()``,
    ``_default_input_shape(n_features)`` and ``_check_input_shape(shape)``.
    The target mixins implement ``_objective()``, ``_prepare_targets`` and
    ``_n_outputs``.

    A fit goes through explicit steps: validate the data and targets, build
    a seeded network (``_new_net``, with the ``_init_hook`` where transfer
    and meta-learning load weights) or copy the fitted one to continue
    (``_continued_net``), train it, and only then store it. A fit that
    raises leaves the estimator as it was.
    """

    _y_allow_missing = False
    # HyperbandSearchCV: warm_start with max_epochs=m trains exactly m more
    # epochs, the same as training k + m at once
    _continuations = {"max_epochs": "resume"}

    _parameter_constraints = {
        "input_shape": [None, tuple, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"),
                       StrOptions({"full", "auto"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"plateau", "constant"})],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "optimizer_kwargs": [None, dict],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [StrOptions({"cpu", "cuda", "auto"}), torch.device],
        "dtype": [StrOptions(set(_DTYPES))],
        "verbose": ["verbose"],
        "callbacks": [None, list],
        "init_from": "no_validation",  # an estimator or a path, checked at fit
        "freeze": [None, str, list, tuple],
        "unfreeze_after": [None, Interval(Integral, 1, None, closed="left")],
        "trunk_lr": [None, Interval(Real, 0, None, closed="neither")],
    }

    def _store_params(self, params):
        """Store the ``__init__`` arguments as they are (scikit-learn convention).

        Concrete estimators call ``self._store_params(locals())`` so that the
        signature is the single list of their parameters.
        """
        for name, value in params.items():
            if name != "self":
                setattr(self, name, value)

    # ------------------------------------------------------------------ input
    def _as_array(self, X, reset):
        """Hook: turn other inputs (ragged sequence lists) into arrays.

        Returns ``(X, padded)``; ``padded`` says NaN may mark padding.
        """
        if (isinstance(X, (list, tuple)) and len(X) > 1
                and all(hasattr(s, "__len__") and not isinstance(s, str) for s in X)
                and len({np.shape(s) for s in X}) > 1):
            raise ValueError(
                f"X is a list of arrays of different shapes, which {type(self).__name__} "
                "cannot read: pad or resample them to one shape. CNNClassifier and "
                "CNNRegressor read a list of (C, L_i) series, RNNClassifier and "
                "RNNRegressor a list of (T_i, F) sequences.")
        return X, False

    def _finalize_input(self, X, padded):
        """Hook: last checks once X has its network shape ``(n, *input_shape_)``."""
        return X

    def _validate_X(self, X, y="no_validation", reset=True):
        """Validate X (and y unless ``"no_validation"``) and shape X for the network."""
        X, padded = self._as_array(X, reset)
        sample_shape = None
        if isinstance(X, np.ndarray) and X.ndim > 2:
            sample_shape = tuple(int(s) for s in X.shape[1:])
            if not reset:
                self._check_sample_shape(sample_shape)
            X = X.reshape(len(X), -1)
        fitting = not (isinstance(y, str) and y == "no_validation")
        kwargs = dict(reset=reset, dtype=(np.float64, np.float32),
                      ensure_min_samples=2 if fitting else 1,
                      ensure_all_finite="allow-nan" if padded else True)
        if fitting and self._y_allow_missing:
            # missing labels (NaN, None) are data here, not an error
            if y is None:
                raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                                 "target y is None.")
            X = validate_data(self, X, **kwargs)
            y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite="allow-nan",
                            input_name="y")
            check_consistent_length(X, y)
        elif fitting:
            X, y = validate_data(self, X, y, multi_output=self._multi_output_y,
                                 y_numeric=self._y_numeric, **kwargs)
        else:
            X = validate_data(self, X, **kwargs)
        if reset:
            self.input_shape_ = self._resolve_input_shape(X.shape[1], sample_shape)
        _check_representable(X, self._np_dtype)
        # C order: torch picks other (differently rounding) kernels for strided input
        X = np.ascontiguousarray(X.reshape(len(X), *self.input_shape_), dtype=self._np_dtype)
        return self._finalize_input(X, padded), y

    def _check_sample_shape(self, sample_shape):
        if sample_shape != tuple(self.input_shape_):
            raise ValueError(
                f"X has samples of shape {sample_shape}, but {type(self).__name__} was "
                f"fitted on samples of shape {tuple(self.input_shape_)}. Give X in the "
                "fitted layout (axes in the same order, e.g. channels first: "
                "X.transpose(0, 3, 1, 2) for (n, H, W, C) images), or flat rows.")

    def _resolve_input_shape(self, n_features, sample_shape):
        # flat rows without input_shape: often tabular data (the CNN then
        # flattens rather than averaging over positions)
        self._flat_rows_ = sample_shape is None and self.input_shape is None
        if self.input_shape is not None:
            shape = positive_ints(self.input_shape, "input_shape")
            if int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"input_shape={tuple(self.input_shape)} needs {int(np.prod(shape))} "
                    f"features per sample, but X has {n_features}"
                    + (f" (sample shape {sample_shape})" if sample_shape else "")
                    + ". Pass an input_shape whose product is the number of features, "
                    "or input_shape=None to use X's own shape. In BaggingClassifier or "
                    "BaggingRegressor, feature subsampling cannot keep a fixed input shape: "
                    "use max_features=1.0 and bootstrap_features=False.")
            if sample_shape is not None and sample_shape != shape:
                raise ValueError(
                    f"X has samples of shape {sample_shape} but input_shape={shape}. "
                    "Reorder X's axes to input_shape (e.g. channels first), pass "
                    "input_shape=None to use X's own shape, or pass flat rows.")
        elif sample_shape is not None:
            shape = sample_shape
        else:
            shape = self._default_input_shape(n_features)
        self._check_input_shape(shape)
        return shape

    @property
    def _np_dtype(self):
        return np.dtype(self.dtype)

    # --------------------------------------------------------------- training
    def _optimizer_settings(self):
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = _OPTIMIZERS[optimizer]
        elif not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)} or a subclass of "
                             f"torch.optim.Optimizer, got {optimizer!r}.")
        kwargs = {"weight_decay": self.weight_decay, **(self.optimizer_kwargs or {})}
        # Adam's fused kernel: one pass over all parameters instead of ~10
        # small operations per tensor (a sixth of a small CNN's step on the CPU)
        if (optimizer in (torch.optim.Adam, torch.optim.AdamW)
                and not {"fused", "foreach"} & set(kwargs)
                and fused_supported(optimizer, str(_resolve_device(self.device)), **kwargs)):
            kwargs["fused"] = True
        return optimizer, kwargs

    def _user_callbacks(self):
        """The ``callbacks`` parameter, checked and deep-copied into the net.

        Copies keep the user's callback objects unchanged by training.
        """
        callbacks = []
        for i, cb in enumerate(self.callbacks or []):
            name = None
            if isinstance(cb, tuple) and len(cb) == 2 and isinstance(cb[0], str):
                name, cb = cb
            if not isinstance(cb, Callback):
                hint = (f" the class {cb.__name__}: pass an instance, e.g. {cb.__name__}(...)"
                        if isinstance(cb, type) else f" {cb!r}")
                raise ValueError(
                    f"callbacks[{i}] is{hint}. Pass skorch callbacks (instances of "
                    "skorch.callbacks.Callback) or (name, callback) pairs.")
            if name in _RESERVED_CALLBACK_NAMES:
                raise ValueError(
                    f"callbacks[{i}] is named {name!r}, a name the estimator gives its own "
                    f"callback ({', '.join(sorted(_RESERVED_CALLBACK_NAMES))} are taken). "
                    "Give yours another name.")
            cb = copy.deepcopy(cb)
            callbacks.append((name, cb) if name else cb)
        return callbacks

    _network_hint = "Check the architecture parameters."
    _applied_on_warm_start = _APPLIED_ON_WARM_START
    _divergence_advice = ("lr", "")

    def _engine_settings(self):
        """``(lr, max_epochs, batch_size)`` of the engine; -1 is the full batch.

        Estimators whose parameters name these differently (meta-learning:
        ``meta_lr``, ``n_meta_iter``, ``meta_batch_size``) override it.
        """
        return self.lr, self.max_epochs, -1 if self.batch_size == "full" else self.batch_size

    def _objective(self):
        raise NotImplementedError

    def _auto_epochs(self, n_samples, batch_size):
        """Epochs of ``max_epochs='auto'``: about ``AUTO_STEPS`` optimizer steps.

        A budget counted in epochs gives a small data set few steps (36
        samples, 30 epochs: 30 steps in all) and a large one many; counted in
        steps it serves both. Bounded to ``[AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS]``
        so large data sets still see every sample several times.
        """
        if getattr(self, "early_stopping", False):
            n_samples -= int(np.ceil(n_samples * self.validation_fraction))
        batch = n_samples if batch_size in (-1, None) else min(batch_size, n_samples)
        steps_per_epoch = max(1, int(np.ceil(n_samples / max(batch, 1))))
        epochs = int(np.ceil(AUTO_STEPS / steps_per_epoch))
        return int(np.clip(epochs, AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS))

    def _plateau_schedule(self):
        """Whether the engine adds the ``lr_schedule='plateau'`` scheduler: not
        where the estimator has no such parameter (meta-learning) or the
        user's callbacks bring their own learning-rate scheduler."""
        return (getattr(self, "lr_schedule", "constant") == "plateau"
                and not any(isinstance(cb[1] if isinstance(cb, tuple) else cb, LRScheduler)
                            for cb in self.callbacks or []))

    def _init_hook(self):
        """A callable applied to the freshly initialised module, or None.

        The one place where transfer learning (``init_from``) or
        meta-learning load or transform weights before training.
        """
        if self.init_from is None:
            return None
        from ._transfer import LoadWeights, _classes_of, source_state

        return LoadWeights(*source_state(self.init_from), target_classes=_classes_of(self))

    def _freeze_patterns(self):
        freeze = getattr(self, "freeze", None)
        patterns = [freeze] if isinstance(freeze, str) else list(freeze or [])
        if getattr(self, "unfreeze_after", None) is not None and not patterns:
            raise ValueError("unfreeze_after needs blocks to freeze: pass freeze, e.g. "
                             "freeze='trunk'.")
        bad = [p for p in patterns if not isinstance(p, str)]
        if bad:
            raise ValueError(f"freeze must hold block names or patterns (str), got {bad}.")
        return patterns

    def _block_lrs(self):
        trunk_lr = getattr(self, "trunk_lr", None)
        return {} if trunk_lr is None else {"trunk": trunk_lr}

    def _setup_signature(self):
        """What a warm start must find unchanged: architecture, targets, training setup."""
        params = {k: _frozen(v) for k, v in self.get_params(deep=False).items()
                  if k not in self._applied_on_warm_start and k != "callbacks"}
        params["trunk_lr given"] = getattr(self, "trunk_lr", None) is not None
        return dict(network=self._network_class, params=params,
                    callbacks=list(self.callbacks or []))

    def _new_net(self, n_outputs, init_hook=None):
        optimizer, opt_kwargs = self._optimizer_settings()
        lr, max_epochs, batch = self._engine_settings()
        callbacks = [("divergence_guard", DivergenceGuard(*self._divergence_advice))]
        if self._plateau_schedule():
            callbacks.append(("lr_plateau", PlateauLR(PLATEAU_FACTOR, PLATEAU_PATIENCE,
                                                      PLATEAU_MIN_RATIO)))
        train_split = None
        if getattr(self, "early_stopping", False):
            train_split = HoldoutSplit(self.validation_fraction,
                                       stratify=self._stratify_validation,
                                       random_state=self._seed_)
            callbacks.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=self.n_iter_no_change, threshold=self.tol,
                threshold_mode="abs", load_best=True,
                sink=print_lines if self.verbose else _silent)))
        if self._freeze_patterns():
            callbacks.append(("freeze", FreezeBlocks(self._freeze_patterns(),
                                                     self.unfreeze_after)))
        callbacks += self._user_callbacks()
        groups = [(f"{block}.*", {"lr": lr, "block": block})
                  for block, lr in self._block_lrs().items()]
        if groups:
            opt_kwargs = {**opt_kwargs, "param_groups": groups}
        net = TrainingNet(
            module=self._network_class,
            module__n_outputs=n_outputs,
            **{f"module__{k}": v for k, v in self._network_kwargs().items()},
            criterion=self._objective(),
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch,
            train_split=train_split,
            callbacks=callbacks,
            verbose=self.verbose,
            device=_resolve_device(self.device),
            dtype=_DTYPES[self.dtype],
            seed=self._seed_,
            init_hook=init_hook or self._init_hook(),
            **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
        )
        try:
            optimizer([torch.zeros(1, device=_resolve_device(self.device), requires_grad=True)],
                      lr=lr,
                      **{k: v for k, v in opt_kwargs.items() if k != "param_groups"})
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"The optimizer {optimizer.__name__} rejected its settings "
                             f"{opt_kwargs}: {exc}. Check optimizer_kwargs.") from exc
        try:
            net.initialize()
        except NetworkBuildError as exc:
            raise ValueError(f"{type(self).__name__} could not build its network: "
                             f"{exc.__cause__}. {self._network_hint}") from exc
        if batch == 1 and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                              for m in net.module_.modules()):
            raise ValueError("batch_size=1 with batch normalisation: a batch of one sample has "
                             "no statistics. Use batch_size >= 2 or turn batch norm off "
                             "(batch_norm=False).")
        # the rates as built: a warm start compares new settings with these,
        # not with the param groups, which a scheduler may have lowered since
        net.applied_settings_ = {"lr": lr, "blocks": dict(self._block_lrs()),
                                 "kwargs": {k: v for k, v in opt_kwargs.items()
                                            if k != "param_groups"}}
        return net

    def _continued_net(self):
        """A copy of the fitted net, with changed optimizer and batch settings applied.

        Raises when the architecture or training setup changed: continuing
        would silently keep the old network.
        """
        before, now = self._setup_signature_, self._setup_signature()
        changed = [k for k in before["params"]
                   if not _same(before["params"][k], now["params"].get(k))]
        if before["network"] is not now["network"]:
            changed.append("network class")
        if (len(before["callbacks"]) != len(now["callbacks"])
                or any(a is not b for a, b in zip(before["callbacks"], now["callbacks"]))):
            changed.append("callbacks")
        if changed:
            raise ValueError(
                f"warm_start=True continues the fitted network, but {', '.join(changed)} "
                "changed since it was built. Set warm_start=False (or fit a clone) to train "
                "a new network with the new settings.")
        net = copy.deepcopy(self.net_)
        optimizer, opt_kwargs = self._optimizer_settings()
        lr, net.max_epochs, net.batch_size = self._engine_settings()
        block_lrs = self._block_lrs()
        net.set_optimizer_settings(optimizer, lr, opt_kwargs, block_lrs)
        plateau = dict(net.callbacks_).get("lr_plateau")
        if isinstance(plateau, PlateauLR):  # its floors follow the rates set now
            plateau.set_floors([block_lrs.get(g.get("block"), lr)
                                for g in net.optimizer_.param_groups])
        net.verbose = self.verbose
        return net

    def _train(self, X, y, sample_weight, *, epochs, incremental, classes=None):
        with _exclusive_fit(self), _restore_on_error(self):
            continuing = incremental and hasattr(self, "net_")
            if not continuing:
                self._task_names_from(y)
            X, y = self._validate_X(X, y, reset=not continuing)
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
            y = self._prepare_targets(y, reset=not continuing, classes=classes,
                                      sample_weight=sample_weight)
            if not continuing:
                self._seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
            sample_weight = self._prepare_sample_weight(sample_weight, y)
            if continuing:
                net = self._continued_net()
            else:
                net = self._new_net(self._n_outputs)
                self._setup_signature_ = self._setup_signature()
            if net.batch_size == "auto":
                net.batch_size = auto_batch_size(len(X))
            if epochs == "auto":
                epochs = self._auto_epochs(len(X), net.batch_size)
            net.max_epochs = epochs
            net.train_epochs(ArrayDataset(X, y, sample_weight), epochs)
            self.net_ = net
            self.n_iter_ = len(net.history)
        return self

    def _prepare_sample_weight(self, sample_weight, y):
        """Final per-sample weights: ``sample_weight`` times class weights.

        None when all samples weigh the same: the batch loss is then the
        plain mean, which is the weighted mean with equal weights. Otherwise
        the weights are scaled to a mean of 1 (the weighted mean does not
        change), so each batch's loss, the mean of weight times loss, is an
        unbiased estimate of the whole training set's weighted mean loss.
        """
        sw = sample_weight * self._class_weights(y)
        if not sw.sum() > 0:
            raise ValueError("sample_weight sums to zero: give at least one sample a "
                             "positive weight.")
        if np.all(sw == sw.flat[0]):
            return None
        sw = sw / sw.max()  # first by the largest, so that no sum overflows
        smallest = sw[sw > 0].min()  # relative to the largest
        sw = sw / sw.mean()
        cast = sw.astype(self._np_dtype)
        if np.any((sw > 0) & (cast == 0)):
            raise ValueError(
                f"sample_weight (times class_weight) spans more than {self.dtype} can hold: "
                f"the smallest positive weight is {smallest:.3g} times the largest "
                "and would become 0. Clip the weights or pass dtype='float64'.")
        return cast

    def _class_weights(self, y):
        return 1.0

    def _task_names_from(self, y):
        """Hook: remember what only the raw ``y`` tells (column names of a DataFrame)."""

    # -------------------------------------------------------------- interface
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network for ``max_epochs`` epochs.

        With ``warm_start=True`` and a fitted estimator, training continues
        from the current weights instead of starting anew.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
            Training data; flat rows are reshaped to ``input_shape``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, relative to each other: the loss trained is the
            weighted mean over the samples of this call (each batch's loss is
            an unbiased estimate of it), so only their ratios matter.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._train(X, y, sample_weight, epochs=self.max_epochs,
                           incremental=self.warm_start)

    def _predict_raw(self, X, embed=False):
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return self.net_.predict_raw(X, embed=embed)

    def transform_features(self, X):
        """Penultimate-layer activations of the fitted network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        features : ndarray of shape (n_samples, n_hidden)
        """
        features = self._predict_raw(X, embed=True)
        # (n, hidden), or (n, members, hidden) for an ensemble: one row per sample
        return features.reshape(len(features), -1)

    @property
    def history_(self):
        """skorch history of the fitted net (one row per epoch)."""
        check_is_fitted(self)
        return self.net_.history

    def __sklearn_is_fitted__(self):
        # fitted means trained: a fit that failed after validating X leaves
        # n_features_in_ behind but no net_
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _silent(*args, **kwargs):
    pass


def _check_partial_fit(estimator):
    if estimator.early_stopping:
        raise ValueError(
            "partial_fit does not support early_stopping=True (as in MLPClassifier): one "
            "epoch has no patience to wait out. Use fit with early_stopping=True, or "
            "set early_stopping=False.")


def target_scaling(y2, sample_weight, what):
    """Weighted mean and scale of each column of ``y2`` for standardised targets.

    Standardised targets make one learning rate fit any target scale;
    weighted statistics keep a weight-k sample equal to k copies. Raises,
    naming ``what``, when they overflow or vanish in float64.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.average(y2, axis=0, weights=sample_weight)
        scale = np.sqrt(np.average((y2 - mean) ** 2, axis=0, weights=sample_weight))
    spread = np.ptp(y2, axis=0)
    bad = ~np.isfinite(mean) | ~np.isfinite(scale) | ((scale == 0) & (spread > 0))
    if bad.any():
        raise ValueError(
            f"{what} cannot be standardised in float64 (values from {y2.min():.3g} to "
            f"{y2.max():.3g}: their mean or spread overflows or vanishes). Rescale "
            f"{what}, e.g. divide by a power of 10, or use TransformedTargetRegressor.")
    return mean, np.where(scale > 0, scale, 1.0)


def standardise(y2, mean, scale, dtype, what):
    """``(y2 - mean) / scale``, raising (naming ``what``) when it overflows ``dtype``."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (y2 - mean) / scale
    if z.size and (not np.isfinite(z).all() or np.abs(z).max() > np.finfo(dtype).max):
        raise ValueError(
            f"{what} has values up to {np.abs(y2).max():.3g}, which overflow once standardised "
            "with the scale of the first fit. Rescale it consistently across calls.")
    return z


def softmax(logits, axis):
    """Numerically stable softmax of a float64 array along ``axis``."""
    logits = logits - logits.max(axis=axis, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=axis, keepdims=True)


class NeuralClassifierMixin:
    """Targets of a neural classifier: labels of any type, class weights."""

    _multi_output_y = False
    _y_numeric = False
    _stratify_validation = True

    def _objective(self):
        return CrossEntropyObjective()

    def _prepare_targets(self, y, reset, classes=None, sample_weight=None):
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in y, "
                    f"got 1 class: {self.classes_[0]!r}.")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={classes!r} differs from the classes of the first "
                             f"partial_fit call {self.classes_!r}.")
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(f"y contains labels {np.unique(y[unseen])!r} that are not in "
                             f"classes_ {self.classes_!r}; pass all labels with `classes` "
                             "on the first partial_fit call.")
        self._n_outputs = len(self.classes_)
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _class_weights(self, y):
        """Per-sample factors from ``class_weight`` (``y`` is label-encoded)."""
        if self.class_weight is None:
            return 1.0
        if isinstance(self.class_weight, str):  # 'balanced'
            return compute_sample_weight("balanced", y)
        unknown = [k for k in self.class_weight if k not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(f"class_weight has labels {unknown} that are not in "
                             f"classes_ {self.classes_.tolist()}.")
        bad = {k: v for k, v in self.class_weight.items()
               if not isinstance(v, Real) or not np.isfinite(v) or v < 0}
        if bad:
            raise ValueError(f"class_weight values must be finite and non-negative, got {bad}. "
                             "Give each class a weight >= 0.")
        factors = np.ones(len(self.classes_))
        for label, weight in self.class_weight.items():
            factors[np.searchsorted(self.classes_, label)] = weight
        return factors[y]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All labels; needed on the first call when a batch may miss some.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, relative to the other samples of this call
            (as in ``fit``): weights 100 on every sample of a call train
            as weights 1 do.

        Returns
        -------
        self : object
        """
        _check_partial_fit(self)
        return self._train(X, y, sample_weight, epochs=1, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities (softmax of the network output).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._predict_raw(X), axis=1)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class NeuralRegressorMixin:
    """Targets of a neural regressor: one or more outputs, standardised inside."""

    _multi_output_y = True
    _y_numeric = True
    _stratify_validation = False

    def _objective(self):
        return SquaredErrorObjective()

    def _prepare_targets(self, y, reset, classes=None, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        y2 = y.reshape(len(y), -1)
        if reset:
            self._y_ndim = y.ndim
            self._y_mean, self._y_scale = target_scaling(y2, sample_weight, "y")
        elif y2.shape[1] != len(self._y_mean):
            raise ValueError(f"y has {y2.shape[1]} outputs but the estimator was fitted "
                             f"with {len(self._y_mean)}.")
        self._n_outputs = y2.shape[1]
        z = standardise(y2, self._y_mean, self._y_scale, self._np_dtype, "y")
        return z.astype(self._np_dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, relative to the other samples of this call
            (as in ``fit``): weights 100 on every sample of a call train
            as weights 1 do.

        Returns
        -------
        self : object
        """
        _check_partial_fit(self)
        return self._train(X, y, sample_weight, epochs=1, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        y = self._predict_raw(X) * self._y_scale + self._y_mean
        return y.ravel() if self._y_ndim == 1 else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
