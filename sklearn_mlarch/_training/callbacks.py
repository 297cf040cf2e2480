"""skorch callbacks owned by the package."""

import math

from skorch.callbacks import Callback

#: an epoch loss this many times the first batch's loss (or 1) counts as diverging
EXPLOSION_FACTOR = 1e4


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss is no longer finite, or explodes."""


class DivergenceGuard(Callback):
    """Stop training with a clear error when the epoch's training loss diverges.

    Diverging means not finite, or above ``EXPLOSION_FACTOR`` times the loss
    of the very first batch (at least 1): Adam with ``lr=1e3`` trains to
    finite losses of 1e11 and chance accuracy, a silent wrong result. The
    check reads the loss once per epoch (no per-batch host synchronisation).
    """

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
            f"Lower the learning rate (lr={net.lr:g} now), e.g. lr={net.lr / 10:g}, or "
            "scale the inputs (StandardScaler) and targets.")
