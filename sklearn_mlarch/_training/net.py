"""The training engine: a skorch net with an explicit objective and seeded epochs.

Lifecycle, each step its own method:

1. ``initialize()`` builds the module from ``seed`` (under a process-wide
   lock, so initialisation is the same in any thread), casts it to
   ``dtype``, and hands it to ``init_hook``, the one place where a later
   feature loads or transforms weights (transfer, meta-learning).
2. ``train_epochs(dataset, epochs)`` runs skorch's own ``fit_loop``;
   shuffling and dropout of epoch ``e`` draw from generators seeded by
   ``(seed, e)``, so ``k`` epochs then ``m`` more equal ``k + m`` at once.
3. ``predict_raw(X)`` returns the network output(s) as float64 numpy.
"""

import functools
import inspect
import signal
import threading
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.utils import TeeGenerator

from ..exceptions import TrainingStoppedWarning
from ..networks.random import Dropout, use_generator, uses_global_rng
from ..utils._threads import torch_threads, worker_threads
from .augment import Augmenter
from . import distributed
from .data import ArrayDataset, BatchIterator
from .norms import recompute_norm_statistics, resume_running_averages
from .objectives import Objective
from .progress import ProgressLog
from .stream import LazyRows

PREDICT_CHUNK = 128
PREDICT_CHUNK_GPU = 4096
#: training data up to this size moves to the GPU once, before the first epoch
DEVICE_DATA_BYTES = 2 * 2**30

# torch builds modules from its global generator; seeding it must not
# interleave with another thread doing the same
_GLOBAL_RNG_LOCK = threading.RLock()


@functools.lru_cache(maxsize=None)
def _implements(cls, method_name):
    """Whether a callback class overrides ``method_name`` (skorch's are no-ops)."""
    return getattr(cls, method_name, None) is not getattr(Callback, method_name, None)


class NetworkBuildError(ValueError):
    """The module could not be built from its arguments."""


def _equal(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError, RuntimeError):
        return a is b


def epoch_seed(seed, epoch, stream=0):
    """A seed that depends only on ``(seed, epoch, stream)``."""
    return int(np.random.SeedSequence([int(seed), int(epoch), int(stream)])
               .generate_state(1)[0])


class TrainingNet(NeuralNet):
    """:class:`skorch.NeuralNet` trained against an explicit :class:`Objective`.

    Batches are :class:`~sklearn_mlarch._training.data.Batch` pairs
    ``(X, y)`` carrying ``sample_weight`` as a separate field; the loss is
    ``criterion(output, y, sample_weight)``, where ``criterion`` is the
    objective. The module may return a tuple of outputs; the objective
    interprets them, the engine does not.

    Parameters
    ----------
    module : torch module class or instance
    criterion : Objective
        The objective (skorch's ``criterion`` slot).
    dtype : torch.dtype, default=torch.float32
        Floating point type of the module's parameters.
    seed : int, default=0
        Seeds initialisation, shuffling and dropout.
    init_hook : callable or None, default=None
        ``init_hook(module) -> module or None``, called once after the seeded
        initialisation.
    **kwargs
        As for :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, criterion, *args, dtype=torch.float32, seed=0, init_hook=None,
                 **kwargs):
        super().__init__(module, criterion, *args, **kwargs)
        self.dtype = dtype
        self.seed = seed
        self.init_hook = init_hook

    @property
    def _default_callbacks(self):
        # skorch's, with the per-epoch table replaced by the package's progress
        return [(name, ProgressLog() if name == "print_log" else cb)
                for name, cb in super()._default_callbacks]

    # ---------------------------------------------------------------- lifecycle
    def initialize_criterion(self):
        if not isinstance(self.criterion, Objective):
            raise TypeError(f"criterion must be an Objective instance, got {self.criterion!r}.")
        self.criterion_ = self.criterion
        return self

    def initialize_module(self):
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            try:
                super().initialize_module()
            except (TypeError, RuntimeError) as exc:  # arguments rejected, or sizes mismatch
                raise NetworkBuildError(str(exc)) from exc
        self.module_.to(dtype=self.dtype)
        if self.init_hook is not None:
            self.module_ = self.init_hook(self.module_) or self.module_
            self.init_hook = None  # used once; the net need not carry the source weights
        return self

    def set_optimizer_settings(self, optimizer, lr, optimizer_kwargs, block_lrs=None):
        """Apply changed optimizer settings, keeping the optimizer's state.

        Only what changed since the last call is written into the param
        groups, so a learning rate that a scheduler has moved stays where it
        is unless ``lr`` itself changed; a setting removed from
        ``optimizer_kwargs`` returns to the optimizer's default. A new
        optimizer class starts a new optimizer. ``block_lrs`` maps a block
        name to its own learning rate (param groups tagged ``'block'``).
        """
        block_lrs = block_lrs or {}
        before = getattr(self, "applied_settings_", None)
        now = {"lr": lr, "kwargs": dict(optimizer_kwargs), "blocks": dict(block_lrs)}
        if before is None:  # settings as built
            before = {"lr": self.lr, "kwargs": dict(self.get_params_for("optimizer")),
                      "blocks": {g["block"]: g["lr"] for g in self.optimizer_.param_groups
                                 if "block" in g}}
            before["kwargs"].pop("param_groups", None)
        for key, value in optimizer_kwargs.items():
            setattr(self, f"optimizer__{key}", value)
        if optimizer is not self.optimizer:
            self.optimizer = optimizer
            self.lr = lr
            self.initialize_optimizer()
            for group in self.optimizer_.param_groups:
                group["lr"] = block_lrs.get(group.get("block"), lr)
            self.applied_settings_ = now
            return
        defaults = {name: p.default for name, p in
                    inspect.signature(optimizer).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        changed = {k: v for k, v in optimizer_kwargs.items()
                   if k not in before["kwargs"] or not _equal(before["kwargs"][k], v)}
        changed.update({k: defaults[k] for k in before["kwargs"]
                        if k not in optimizer_kwargs and k in defaults})
        for key in before["kwargs"]:
            if key not in optimizer_kwargs and hasattr(self, f"optimizer__{key}"):
                delattr(self, f"optimizer__{key}")
        self.lr = lr
        for group in self.optimizer_.param_groups:
            block = group.get("block")
            new = block_lrs.get(block, lr)
            old = before["blocks"].get(block, before["lr"])
            if new != old:
                group["lr"] = new
            group.update(changed)
        self.applied_settings_ = now

    def _set_training(self, training=True):
        # skorch switches the mode before every batch; walking the module tree
        # costs ~4 % of a small network's step, so switch only on a change.
        if getattr(self, "module_", None) is not None and self.module_.training == training:
            return
        super()._set_training(training)
        if training:
            for name in getattr(self, "frozen_norms_", ()):
                self.module_.get_submodule(name).eval()

    def __setstate__(self, state):
        # a model fitted on a GPU loads on a CPU-only machine, quietly on the CPU
        if str(state.get("device", "cpu")).startswith("cuda") and not torch.cuda.is_available():
            state["device"] = "cpu"
        super().__setstate__(state)

    # -------------------------------------------------------------------- data
    def get_dataset(self, X, y=None):
        if isinstance(X, ArrayDataset) or hasattr(X, "make_iterator"):
            return X
        return ArrayDataset(X, y)

    def get_iterator(self, dataset, training=False):
        if hasattr(dataset, "make_iterator"):  # a sampler of meta-batches (episodes.py)
            return dataset.make_iterator(self)
        batch_size = self.batch_size if self.batch_size > 0 else len(dataset)
        return BatchIterator(dataset, batch_size, shuffle=training,
                             generator=getattr(self, "shuffle_generator_", None),
                             merge_single=True,
                             augment=getattr(self, "augmenter_", None) if training else None)

    # ------------------------------------------------------------------- steps
    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        y_true = y_true.to(self.device, non_blocking=True)
        if sample_weight is not None:
            sample_weight = sample_weight.to(self.device, non_blocking=True)
        return self.criterion_(y_pred, y_true, sample_weight)

    def notify(self, method_name, **cb_kwargs):
        # skorch calls every callback for every event; most callbacks implement
        # a few of them, and per-batch calls to no-op methods add up
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in self._listeners(method_name):
            getattr(cb, method_name)(self, **cb_kwargs)

    def _listeners(self, method_name):
        return [cb for _, cb in self.callbacks_ if _implements(type(cb), method_name)]

    def train_step(self, batch, **fit_params):
        # skorch wraps each step in a closure for optimizers that re-evaluate
        # the loss (LBFGS); the others take one plain step
        if isinstance(self.optimizer_, torch.optim.LBFGS):
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        if self._listeners("on_grad_computed"):
            self.notify("on_grad_computed",
                        named_parameters=TeeGenerator(self.get_all_learnable_params()),
                        batch=batch, training=True)
        self._step_optimizer(None)
        return step

    def train_step_single(self, batch, **fit_params):
        if getattr(self, "ddp_", None) is not None:  # data-parallel (distributed.py)
            return distributed.train_step(self, batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True,
                             sample_weight=getattr(batch, "sample_weight", None))
        self.criterion_.backward(loss, self.module_)
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False,
                                 sample_weight=getattr(batch, "sample_weight", None))
        return {"loss": loss, "y_pred": y_pred}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # skorch's version calls loss.item() per batch, a host synchronisation
        # that stalls a GPU; here the losses stay on the device and are read
        # once at the end of the epoch
        if iterator is None:
            return
        batches = self.history[-1]["batches"]
        first, losses = len(batches), []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        values = torch.stack(losses).float().cpu().tolist() if losses else []
        for row, value in zip(batches[first:], values):
            row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", len(values))

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.rows_trained_ = dataset_train  # early stopping's validation rows left out
        epoch = len(self.history)
        self.shuffle_generator_.manual_seed(epoch_seed(self.seed, epoch, 0))
        self.dropout_generator_.manual_seed(epoch_seed(self.seed, epoch, 1))
        if getattr(self, "augmenter_", None) is not None:
            self.augmenter_.epoch = epoch  # batch i draws from (seed, epoch, i)
        if self._seed_global_:
            torch.manual_seed(epoch_seed(self.seed, epoch, 2))

    # ------------------------------------------------------------------ training
    def train_epochs(self, dataset, epochs, augment=None, sample_shape=None):
        """Train ``epochs`` more epochs on ``dataset``.

        ``augment`` (the estimator's parameter: a callable, a built-in name or
        a list of names, for samples of ``sample_shape``) is applied to each
        training batch (:mod:`~sklearn_mlarch._training.augment`).
        It ends by computing batch norm's statistics for the final weights
        (:mod:`~sklearn_mlarch._training.norms`).

        Shuffling and dropout draw from the net's own generators; only a
        module that draws from torch's global generator (torch's own dropout
        layers, and any dropout on a GPU, where the fused kernel is used)
        trains under a process-wide lock with that generator seeded and
        restored afterwards. Either way fitting leaves the caller's
        random numbers untouched and gives the same result in any thread.
        """
        if not self.initialized_:
            self.initialize()
        self.max_epochs = epochs  # the planned total that verbose progress shows
        cuda = str(self.device).startswith("cuda")
        if cuda and dataset.nbytes() <= DEVICE_DATA_BYTES:
            dataset = dataset.to(self.device)
        if augment is not None and not isinstance(dataset, ArrayDataset):
            raise ValueError("augment applies to batches of samples, not to the episodes "
                             "of meta-learning: pass augment=None.")
        self.augmenter_ = None if augment is None else Augmenter(
            augment, sample_shape or tuple(dataset.X.shape[1:]), self.seed,
            ragged=isinstance(dataset.X, torch.Tensor) and dataset.X.is_floating_point()
            and bool(torch.isnan(dataset.X).any()))
        self.shuffle_generator_ = torch.Generator()
        self.dropout_generator_ = torch.Generator(device=self.device if cuda else "cpu")
        # on a GPU, torch's fused dropout kernel costs a fraction of a mask
        # drawn from a generator (several kernel launches per layer): the
        # package's Dropout then uses it, drawing from the device's global
        # generator, seeded per epoch under the lock like any global-RNG layer
        native_dropout = cuda and any(isinstance(m, Dropout) and m.p > 0
                                      for m in self.module_.modules())
        self._seed_global_ = uses_global_rng(self.module_) or native_dropout
        if self._seed_global_:
            lock = _GLOBAL_RNG_LOCK
            rng = torch.random.fork_rng(devices=[torch.cuda.current_device()] if cuda else [])
        else:
            lock = rng = _nothing()
        masks = _nothing() if native_dropout else use_generator(self.dropout_generator_)
        with lock, rng, torch_threads(worker_threads()), masks:
            resume_running_averages(self)
            try:
                distributed.start(self, dataset)  # when in a torch process group
                self._notify_train_begin(dataset)
                with _watch_ctrl_c() as ctrl_c:
                    try:
                        self.fit_loop(dataset, None, epochs=epochs)
                    except KeyboardInterrupt:
                        # skorch's callbacks (EarlyStopping) stop training by
                        # raising KeyboardInterrupt; a real Ctrl-C propagates
                        if ctrl_c.pressed:
                            raise
                        self._warn_stopped()
                # prediction's batch-norm statistics, before callbacks see the
                # model; in an order drawn from the seed and the epochs trained
                recompute_norm_statistics(self, getattr(self, "rows_trained_", dataset),
                                          epoch_seed(self.seed, len(self.history), 3))
                self.notify("on_train_end", X=dataset, y=None)
            finally:
                distributed.stop(self)
                del self.shuffle_generator_, self.dropout_generator_, self._seed_global_
                del self.augmenter_
                vars(self).pop("rows_trained_", None)
                for _, callback in getattr(self, "callbacks_", ()):
                    if isinstance(callback, ProgressLog):
                        callback._close()  # a failed fit too: no bar left open, no data held
        return self

    def _warn_stopped(self):
        """Say so when a callback other than early stopping ended training early."""
        # the engine's early stopping, or a skorch EarlyStopping the user passed
        if any(isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
               for _, cb in self.callbacks_):
            return  # early stopping did its job: no surprise
        warnings.warn(
            f"A callback stopped training after epoch {len(self.history)} by raising "
            "KeyboardInterrupt (skorch's request to stop): the model keeps the epochs "
            "trained so far (n_iter_). Raise another exception from the callback to undo "
            "the fit instead.", TrainingStoppedWarning, stacklevel=2)

    def _notify_train_begin(self, dataset):
        # skorch's LRScheduler rebuilds its scheduler at every train begin,
        # stepping it once more; continuing training must not: keep the
        # schedulers' state and the learning rates they set
        schedulers = [(cb, cb.lr_scheduler_.state_dict()) for _, cb in self.callbacks_
                      if getattr(cb, "lr_scheduler_", None) is not None]
        # a copied or unpickled PlateauLR carries its scheduler's state alone
        schedulers += [(cb, vars(cb).pop("scheduler_state_")) for _, cb in self.callbacks_
                       if "scheduler_state_" in vars(cb)]
        lrs = [group["lr"] for group in self.optimizer_.param_groups]
        self.notify("on_train_begin", X=dataset, y=None)
        if schedulers:
            for group, lr in zip(self.optimizer_.param_groups, lrs):
                group["lr"] = lr
            for cb, state in schedulers:
                cb.lr_scheduler_.load_state_dict(state)
                # the rates this call trains with (a warm start may set a new lr)
                cb.lr_scheduler_._last_lr = list(lrs)

    # ---------------------------------------------------------------- prediction
    def predict_proba(self, X):
        """The objective's transform of the output (class probabilities), as numpy.

        Goes through skorch's ``forward_iter`` batch by batch, so skorch's
        scoring callbacks can substitute their cached outputs.
        """
        parts = [self.criterion_.output_transform(out)
                 for out in self.forward_iter(X, training=False)]
        if isinstance(parts[0], tuple):  # several outputs: one array each
            return [torch.cat([p[i] for p in parts]).detach().numpy()
                    for i in range(len(parts[0]))]
        return torch.cat(parts).detach().numpy()

    def predict(self, X):
        """Predictions comparable with the training targets (for skorch scorers)."""
        proba = self.predict_proba(X)
        proba = (tuple(torch.as_tensor(p) for p in proba) if isinstance(proba, list)
                 else torch.as_tensor(proba))
        return np.asarray(self.criterion_.decode(proba))

    def predict_raw(self, X, embed=False, chunk=None):
        """Network output (or with ``embed``, penultimate features) as float64 numpy.

        Rows go through the network in chunks of exactly ``chunk`` rows (the
        last one padded with copies of a real row), so a sample's result
        does not depend on how many others are computed with it: kernels
        chosen by batch size round differently in float32. A module
        returning a tuple gives a tuple of arrays.
        """
        self.check_is_fitted()
        X = X.X if isinstance(X, ArrayDataset) else X
        self._set_training(False)
        return in_fixed_chunks(self.module_.embed if embed else self.infer, X, self.device,
                               chunk)


def in_fixed_chunks(fn, X, device, chunk=None):
    """``fn`` over rows of ``X`` in chunks of exactly ``chunk`` rows, as float64 numpy.

    The last chunk is padded with copies of a real row, so a sample's result
    does not depend on how many others are computed with it (kernels chosen
    by batch size round differently in float32). Runs under ``no_grad``; an
    ``fn`` returning a tuple gives a tuple of arrays.
    """
    cuda = str(device).startswith("cuda")
    chunk = chunk or (PREDICT_CHUNK_GPU if cuda else PREDICT_CHUNK)
    n = len(X)
    outputs = []
    with torch.no_grad(), torch_threads(worker_threads()):
        if isinstance(X, LazyRows):  # read chunk by chunk
            rows = X.batches([slice(a, a + chunk) for a in range(0, n, chunk)])
        else:
            X = torch.as_tensor(X).to(device, non_blocking=True)
            rows = (X[a:a + chunk] for a in range(0, n, chunk))
        for Xi in rows:
            Xi = Xi.to(device, non_blocking=True)
            if len(Xi) < chunk:  # pad the last chunk only, with copies of a real row
                Xi = torch.cat([Xi, Xi[-1:].expand(chunk - len(Xi), *Xi.shape[1:])])
            outputs.append(fn(Xi))

    def gather(parts):
        return torch.cat(parts)[:n].cpu().numpy().astype(np.float64)

    if isinstance(outputs[0], tuple):
        return tuple(gather(list(parts)) for parts in zip(*outputs))
    return gather(outputs)


class _watch_ctrl_c:
    """Record whether SIGINT (Ctrl-C) arrived while the block ran.

    Signals reach only the main thread; elsewhere nothing is installed and a
    KeyboardInterrupt can only be a callback's request to stop.
    """

    pressed = False

    def __enter__(self):
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):
                def handler(signum, frame):
                    self.pressed = True
                    return previous(signum, frame)

                signal.signal(signal.SIGINT, handler)
                self._previous = previous
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
