"""How an estimator's training settings become a training engine.

:class:`EngineConfig` is the one object that carries the training settings
(learning rate, epochs, batch size, optimizer, schedule, early stopping,
freezing, callbacks, device, dtype) from an estimator's parameters to the
engine. :func:`build_net` turns it, a network and an objective into a
seeded :class:`~sklearn_mlarch._training.TrainingNet`; :func:`continue_net`
applies changed settings to a copy of a fitted one for a warm start. Every
estimator, the meta-estimators included, trains through these two.
"""

import copy
import dataclasses
from typing import Any

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from ._training import (VERBOSE_OPTIONS, DivergenceGuard, EpisodeValidation, FreezeBlocks,
                        HoldoutSplit, NetworkBuildError, PlateauLR, TrainingNet,
                        ValidationScore, print_lines)

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

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# names of the callbacks build_net adds, and skorch's defaults
RESERVED_CALLBACK_NAMES = {"divergence_guard", "lr_plateau", "early_stopping", "freeze",
                           "meta_validation", "valid_score",
                           "epoch_timer", "train_loss", "valid_loss", "print_log"}


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


def resolve_device(device):
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


# settings a warm start applies to the fitted network; a change to any other
# parameter (architecture, targets, training setup) needs a new network
APPLIED_ON_WARM_START = frozenset({
    "lr", "weight_decay", "optimizer", "optimizer_kwargs", "trunk_lr", "max_epochs",
    "batch_size", "verbose", "warm_start", "random_state", "init_from", "class_weight",
    "callbacks", "augment"})

ENGINE_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"full", "auto"})],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions({"plateau", "constant"})],
    "optimizer": [StrOptions(set(OPTIMIZERS)), type],
    "optimizer_kwargs": [None, dict],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "device": [StrOptions({"cpu", "cuda", "auto"}), torch.device],
    "dtype": [StrOptions(set(DTYPES))],
    "verbose": ["verbose", StrOptions(set(VERBOSE_OPTIONS))],
    "callbacks": [None, list],
    "init_from": "no_validation",  # an estimator or a path, checked at fit
    "freeze": [None, str, list, tuple],
    "unfreeze_after": [None, Interval(Integral, 1, None, closed="left")],
    "trunk_lr": [None, Interval(Real, 0, None, closed="neither")],
}


def _silent(*args, **kwargs):
    pass


@dataclasses.dataclass
class EngineConfig:
    """The training settings of one fit, as the estimator's parameters give them.

    Built by :meth:`from_params` from any estimator's ``get_params()``; the
    meta-estimators build it from their wrapped estimator's. The names are
    the estimators' parameter names (see the user guide's table).
    """

    lr: float = 1e-3
    max_epochs: Any = "auto"
    batch_size: Any = "auto"
    lr_schedule: str = "plateau"
    optimizer: Any = "adam"
    optimizer_kwargs: Any = None
    weight_decay: float = 0.0
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-4
    warm_start: bool = False
    random_state: Any = None
    device: Any = "cpu"
    dtype: str = "float32"
    verbose: int = 0
    callbacks: Any = None
    init_from: Any = None
    freeze: Any = None
    unfreeze_after: Any = None
    trunk_lr: Any = None
    augment: Any = None  # the CNN estimators' (applied to training batches)
    # what a divergence message advises (the parameter to lower, other advice)
    divergence_advice: tuple = ("lr", "")

    @classmethod
    def from_params(cls, params, **overrides):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in params.items() if k in names}, **overrides})

    @property
    def np_dtype(self):
        return np.dtype(self.dtype)

    def device_name(self):
        return resolve_device(self.device)

    def optimizer_settings(self):
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = OPTIMIZERS[optimizer]
        elif not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or a subclass of "
                             f"torch.optim.Optimizer, got {optimizer!r}.")
        kwargs = {"weight_decay": self.weight_decay, **(self.optimizer_kwargs or {})}
        # Adam's fused kernel: one pass over all parameters instead of ~10
        # small operations per tensor (a sixth of a small CNN's step on the CPU)
        if (optimizer in (torch.optim.Adam, torch.optim.AdamW)
                and not {"fused", "foreach"} & set(kwargs)
                and fused_supported(optimizer, str(self.device_name()), **kwargs)):
            kwargs["fused"] = True
        return optimizer, kwargs

    def engine_batch_size(self):
        return -1 if self.batch_size == "full" else self.batch_size

    def block_lrs(self):
        return {} if self.trunk_lr is None else {"trunk": self.trunk_lr}

    def freeze_patterns(self):
        patterns = [self.freeze] if isinstance(self.freeze, str) else list(self.freeze or [])
        if self.unfreeze_after is not None and not patterns:
            raise ValueError("unfreeze_after needs blocks to freeze: pass freeze, e.g. "
                             "freeze='trunk'.")
        bad = [p for p in patterns if not isinstance(p, str)]
        if bad:
            raise ValueError(f"freeze must hold block names or patterns (str), got {bad}.")
        return patterns

    def plateau_schedule(self):
        """Whether the engine adds the ``lr_schedule='plateau'`` scheduler: not
        where the user's callbacks bring their own learning-rate scheduler."""
        return (self.lr_schedule == "plateau"
                and not any(isinstance(cb[1] if isinstance(cb, tuple) else cb, LRScheduler)
                            for cb in self.callbacks or []))

    def records(self, key):
        """Whether one of the user's callbacks records ``key`` (an EpochScoring's name)."""
        return any(getattr(cb[1] if isinstance(cb, tuple) else cb, "name", None) == key
                   for cb in self.callbacks or [])

    def user_callbacks(self):
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
            if name in RESERVED_CALLBACK_NAMES:
                raise ValueError(
                    f"callbacks[{i}] is named {name!r}, a name the estimator gives its own "
                    f"callback ({', '.join(sorted(RESERVED_CALLBACK_NAMES))} are taken). "
                    "Give yours another name.")
            cb = copy.deepcopy(cb)
            callbacks.append((name, cb) if name else cb)
        return callbacks

    def auto_epochs(self, n_samples, batch_size):
        """Epochs of ``max_epochs='auto'``: about ``AUTO_STEPS`` optimizer steps.

        A budget counted in epochs gives a small data set few steps (36
        samples, 30 epochs: 30 steps in all) and a large one many; counted in
        steps it serves both. Bounded to ``[AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS]``
        so large data sets still see every sample several times.
        """
        if self.early_stopping:
            n_samples -= int(np.ceil(n_samples * self.validation_fraction))
        batch = n_samples if batch_size in (-1, None) else min(batch_size, n_samples)
        steps_per_epoch = max(1, int(np.ceil(n_samples / max(batch, 1))))
        epochs = int(np.ceil(AUTO_STEPS / steps_per_epoch))
        return int(np.clip(epochs, AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS))


def build_net(config, module, module_kwargs, objective, *, seed, init_hook=None,
              stratify=False, owner="The estimator", network_hint="", episodes=False):
    """A seeded, initialised :class:`TrainingNet` for ``config``.

    ``episodes``: the module is trained on episodes (meta-learning); early
    stopping then watches the accuracy on the data set's meta-validation
    episodes (:class:`EpisodeValidation`) instead of a held-out loss.
    """
    optimizer, opt_kwargs = config.optimizer_settings()
    lr, batch = config.lr, config.engine_batch_size()
    device = config.device_name()
    callbacks = [("divergence_guard", DivergenceGuard(*config.divergence_advice))]
    if config.plateau_schedule():
        callbacks.append(("lr_plateau", PlateauLR(PLATEAU_FACTOR, PLATEAU_PATIENCE,
                                                  PLATEAU_MIN_RATIO)))
    train_split = None
    if config.early_stopping:
        if episodes:  # meta-validation episodes, which the data set brings
            callbacks.append(("meta_validation", EpisodeValidation()))
            monitor = "valid_acc"
        else:
            train_split = HoldoutSplit(config.validation_fraction, stratify=stratify,
                                       random_state=seed)
            monitor = "valid_loss"
            if objective.score_name is not None and not config.records(
                    f"valid_{objective.score_name}"):
                callbacks.append(("valid_score", ValidationScore()))
        callbacks.append(("early_stopping", EarlyStopping(
            monitor=monitor, lower_is_better=not episodes, patience=config.n_iter_no_change,
            threshold=config.tol, threshold_mode="abs", load_best=True,
            sink=print_lines if config.verbose else _silent)))
    if config.freeze_patterns():
        callbacks.append(("freeze", FreezeBlocks(config.freeze_patterns(),
                                                 config.unfreeze_after)))
    callbacks += config.user_callbacks()
    groups = [(f"{block}.*", {"lr": block_lr, "block": block})
              for block, block_lr in config.block_lrs().items()]
    if groups:
        opt_kwargs = {**opt_kwargs, "param_groups": groups}
    net = TrainingNet(
        module=module,
        **{f"module__{k}": v for k, v in module_kwargs.items()},
        criterion=objective,
        optimizer=optimizer,
        lr=lr,
        max_epochs=1,
        batch_size=batch,
        train_split=train_split,
        callbacks=callbacks,
        verbose=config.verbose,
        device=device,
        dtype=DTYPES[config.dtype],
        seed=seed,
        init_hook=init_hook,
        **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
    )
    try:
        optimizer([torch.zeros(1, device=device, requires_grad=True)], lr=lr,
                  **{k: v for k, v in opt_kwargs.items() if k != "param_groups"})
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"The optimizer {optimizer.__name__} rejected its settings "
                         f"{opt_kwargs}: {exc}. Check optimizer_kwargs.") from exc
    try:
        net.initialize()
    except NetworkBuildError as exc:
        raise ValueError(f"{owner} could not build its network: {exc.__cause__}. "
                         f"{network_hint}".rstrip()) from exc
    # (episodes: a batch is of tasks, each of several rows)
    if batch == 1 and not episodes and any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.module_.modules()):
        raise ValueError("batch_size=1 with batch normalisation: a batch of one sample has "
                         "no statistics. Use batch_size >= 2 or turn batch norm off "
                         "(batch_norm=False).")
    # the rates as built: a warm start compares new settings with these,
    # not with the param groups, which a scheduler may have lowered since
    net.applied_settings_ = {"lr": lr, "blocks": dict(config.block_lrs()),
                             "kwargs": {k: v for k, v in opt_kwargs.items()
                                        if k != "param_groups"}}
    return net


def continue_net(net, config):
    """A copy of the fitted ``net`` with ``config``'s optimizer and batch settings."""
    net = copy.deepcopy(net)
    optimizer, opt_kwargs = config.optimizer_settings()
    net.batch_size = config.engine_batch_size()
    block_lrs = config.block_lrs()
    net.set_optimizer_settings(optimizer, config.lr, opt_kwargs, block_lrs)
    plateau = dict(net.callbacks_).get("lr_plateau")
    if isinstance(plateau, PlateauLR):  # its floors follow the rates set now
        plateau.set_floors([block_lrs.get(g.get("block"), config.lr)
                            for g in net.optimizer_.param_groups])
    net.verbose = config.verbose
    return net
