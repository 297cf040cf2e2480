"""The errors and warnings users of sklearn_mlarch may catch.

Bad parameters and data raise :class:`ValueError` (with the parameter named
and the fix), as in scikit-learn; the classes here are what is particular to
training networks.

Examples
--------
>>> from sklearn_mlarch.exceptions import TrainingDivergedError
>>> issubclass(TrainingDivergedError, FloatingPointError)
True
"""

__all__ = ["ConcurrentFitError", "DistributedFitError", "TrainingDivergedError",
           "TrainingStoppedWarning"]


class TrainingDivergedError(FloatingPointError):
    """The training loss is no longer finite, or explodes; the fit is undone.

    The message names the epoch and the learning rate to lower.
    """


class ConcurrentFitError(RuntimeError):
    """One estimator object was fitted from two threads at once.

    Fit a clone (``sklearn.base.clone``) in each thread instead.
    """


class DistributedFitError(RuntimeError):
    """A process of :func:`~sklearn_mlarch.distributed.fit_distributed` failed.

    The message names the process (its rank), its exit code or signal, or
    the exception it raised; the estimator is left as it was.
    """


class TrainingStoppedWarning(UserWarning):
    """A callback stopped training early by raising ``KeyboardInterrupt``.

    skorch's callbacks ask to stop that way; the fit then keeps the epochs
    trained so far (``n_iter_`` counts them) and warns with this class. A
    real Ctrl-C is not a request to stop early: it undoes the fit.
    """
