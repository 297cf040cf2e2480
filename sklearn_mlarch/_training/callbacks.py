"""skorch callbacks owned by the package."""

import fnmatch
import math

import torch

from skorch.callbacks import Callback, LRScheduler
from torch.nn.modules.batchnorm import _BatchNorm

from ..exceptions import TrainingDivergedError


class PlateauLR(LRScheduler):
    """Halve each parameter group's rate when the training loss stalls, down to
    ``min_ratio`` times that group's own rate (``lr``, or ``trunk_lr``).

    skorch's ``LRScheduler`` with ``ReduceLROnPlateau`` on ``train_loss``;
    the floors follow the rates the user set (:meth:`set_floors`), so a
    warm start with a new ``lr`` moves them too.
    """

    def __init__(self, factor=0.5, patience=20, min_ratio=0.1):
        super().__init__(policy="ReduceLROnPlateau", monitor="train_loss", factor=factor,
                         patience=patience)
        self.min_ratio = min_ratio

    @property
    def kwargs(self):
        return {"factor": self.factor, "patience": self.patience}

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        floors = [self.min_ratio * group["lr"] for group in net.optimizer_.param_groups]
        return super()._get_scheduler(net, policy, min_lr=floors, **scheduler_kwargs)

    def set_floors(self, rates):
        """Floors of a warm start: ``min_ratio`` times each group's new set rate."""
        floors = [self.min_ratio * rate for rate in rates]
        if getattr(self, "lr_scheduler_", None) is not None:
            self.lr_scheduler_.min_lrs = floors
        elif "scheduler_state_" in vars(self):
            self.scheduler_state_["min_lrs"] = floors

    def __getstate__(self):
        # the scheduler holds the optimizer, which skorch saves on its own:
        # keep only the scheduler's state (the engine rebuilds it from that)
        state = dict(vars(self))
        scheduler = state.pop("lr_scheduler_", None)
        if scheduler is not None:
            state["scheduler_state_"] = scheduler.state_dict()
        return state


#: an epoch loss this many times the first batch's loss (or 1) counts as diverging
EXPLOSION_FACTOR = 1e4


class DivergenceGuard(Callback):
    """Stop training with a clear error when the epoch's training loss diverges.

    Diverging means not finite, or above ``EXPLOSION_FACTOR`` times the loss
    of the very first batch (at least 1): Adam with ``lr=1e3`` trains to
    finite losses of 1e11 and chance accuracy, a silent wrong result. The
    check reads the loss once per epoch (no per-batch host synchronisation).

    Parameters
    ----------
    lr_name : str, default='lr'
        The estimator parameter holding the net's learning rate, for the message.
    hint : str, default=''
        More advice for the message (e.g. the inner learning rate of MAML).
    """

    def __init__(self, lr_name="lr", hint=""):
        self.lr_name = lr_name
        self.hint = hint

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        if "train_loss" not in history[-1]:
            return
        value = history[-1, "train_loss"]
        epoch = len(history)
        first = history[0, "batches", 0, "train_loss"]
        limit = EXPLOSION_FACTOR * max(abs(first), 1.0) if math.isfinite(first) else math.inf
        if math.isfinite(value) and value <= limit:
            return
        what = (f"became {value}" if not math.isfinite(value)
                else f"rose from {first:.3g} to {value:.3g}")
        raise TrainingDivergedError(
            f"The training loss {what} in epoch {epoch}: training diverged. "
            f"Lower the learning rate ({self.lr_name}={net.lr:g} now), e.g. "
            f"{self.lr_name}={net.lr / 10:g}, {self.hint}or scale the inputs "
            "(StandardScaler) and targets.")


class FreezeBlocks(Callback):
    """Freeze the parameters matching ``patterns`` for the first ``epochs`` epochs.

    At the start of every epoch the matching parameters are frozen (no
    gradient, so the optimizer leaves them alone) while the epoch index is at
    most ``epochs`` and trainable after it; ``epochs=None`` freezes them for
    good. Deciding per epoch index (not at the start of a fit, as skorch's
    ``Freezer`` does) keeps warm starts and ``partial_fit`` exact.

    Parameters
    ----------
    patterns : list of str
        Block names (``'trunk'``, ``'trunk.conv0'``) or ``fnmatch`` patterns
        of parameter names (``'trunk.*.weight'``).
    epochs : int or None
        Number of epochs the parameters stay frozen.

    Batch-norm layers of frozen blocks stay in evaluation mode meanwhile, so
    their running statistics do not change either.
    """

    def __init__(self, patterns, epochs=None):
        self.patterns = patterns
        self.epochs = epochs

    def _matches(self, name, pattern):
        # a block name ('trunk.conv0') freezes everything in it
        return fnmatch.fnmatch(name, pattern) or name.startswith(pattern + ".")

    def frozen_for_good(self, module):
        """The parameters of ``module`` this callback keeps frozen in every epoch
        (none where ``epochs`` unfreezes them), frozen or not now."""
        if self.epochs is not None:
            return []
        return [p for name, p in module.named_parameters()
                if any(self._matches(name, pattern) for pattern in self.patterns)]

    def on_train_begin(self, net, **kwargs):
        names = [n for n, _ in net.module_.named_parameters()]
        unmatched = [p for p in self.patterns if not any(self._matches(n, p) for n in names)]
        if unmatched:
            blocks = sorted({n.rsplit(".", 1)[0] for n in names})
            raise ValueError(f"freeze patterns {unmatched} match no parameter of the network. "
                             f"Its blocks are: {blocks}.")
        if self.epochs is None and all(any(self._matches(n, p) for p in self.patterns)
                                       for n in names):
            raise ValueError(
                f"freeze={self.patterns} freezes every parameter of the network: nothing "
                "would train. Freeze fewer blocks (e.g. freeze='trunk' trains the head), or "
                "pass unfreeze_after to train them all after some epochs.")

    def on_epoch_begin(self, net, **kwargs):
        frozen = self.epochs is None or len(net.history) <= self.epochs
        for name, param in net.module_.named_parameters():
            if any(self._matches(name, p) for p in self.patterns):
                param.requires_grad_(not frozen)
        # a frozen block's batch norm keeps its statistics too (eval mode)
        names = [name for name, m in net.module_.named_modules()
                 if isinstance(m, _BatchNorm)
                 and any(self._matches(f"{name}.weight", p) or self._matches(name, p)
                         for p in self.patterns)] if frozen else []
        for name in getattr(net, "frozen_norms_", ()):
            net.module_.get_submodule(name).train(net.module_.training)
        net.frozen_norms_ = names  # names: the net is copied and pickled
        if net.module_.training:
            for name in names:
                net.module_.get_submodule(name).eval()


class EpisodeValidation(Callback):
    """Record the accuracy on the data set's meta-validation episodes as ``valid_acc``.

    The episode sampler of a meta-learner fitted with ``early_stopping``
    holds ``validation``: an object whose ``episodes()`` yields the same
    ``(support_X, support_y, query_X, query_y)`` chunks at every epoch. The
    module, in evaluation mode, predicts each query set after adapting to
    its support set (MAML's inner loop, or prototypes), without gradients
    for the meta-parameters.
    """

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        validation = getattr(dataset_train, "validation", None)
        if validation is None:
            return
        module, device = net.module_, net.device
        was_training = module.training
        module.train(False)
        correct = total = 0
        try:
            with torch.no_grad():  # MAML's inner loop still differentiates (torch.func)
                for Xs, ys, Xq, yq in validation.episodes():
                    Xs, ys, Xq = (t.to(device) for t in (Xs, ys, Xq))
                    pred = module(Xs, ys, Xq).argmax(dim=1).cpu()
                    correct += int((pred == yq.reshape(-1)).sum())
                    total += yq.numel()
        finally:
            module.train(was_training)
        net.history.record("valid_acc", correct / total)


class ValidationScore(Callback):
    """Record the objective's score on the validation rows: ``valid_acc`` or ``valid_r2``.

    Accuracy for a classifier, R² (averaged over the outputs) for a
    regressor: :meth:`Objective.score <sklearn_mlarch._training.Objective.score>`
    of the outputs of skorch's validation step, kept as they come (on the
    device) and scored once at the end of the epoch, without a second pass
    over the data. The engine adds it where a fit holds data out
    (``early_stopping=True``) and the objective has a score.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.outputs_, self.targets_ = [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            self.outputs_.append(y_pred.detach())
            self.targets_.append(batch[1])

    def on_epoch_end(self, net, **kwargs):
        outputs, targets = self.outputs_, self.targets_
        self.outputs_, self.targets_ = [], []  # not kept in the fitted net
        if outputs:
            y = torch.cat(targets).to(outputs[0].device)
            name = f"valid_{net.criterion_.score_name}"
            score = net.criterion_.score(torch.cat(outputs), y)
            earlier = [row[name] for row in net.history[:-1] if name in row]
            net.history.record(name, score)
            # as skorch's scoring callbacks do: the progress line highlights the best
            net.history.record(f"{name}_best", not earlier or score > max(earlier))
