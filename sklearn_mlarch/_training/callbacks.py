"""skorch callbacks owned by the package."""

import math

from skorch.callbacks import Callback


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss stops being finite."""


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as a batch loss is NaN or inf.

    Without it, a diverged net keeps training on NaN weights and predicts a
    constant class or NaN values, a silent wrong result.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None:
            return
        value = loss.detach().item()
        if not math.isfinite(value):
            epoch = len(net.history)
            raise TrainingDivergedError(
                f"The training loss became {value} in epoch {epoch}: training diverged. "
                f"Lower the learning rate (lr={net.lr} now), e.g. lr={net.lr / 10:g}, or "
                "scale the inputs (StandardScaler) and targets.")
