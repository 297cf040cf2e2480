"""What a verbose fit prints: a line per epoch (the default), or a tqdm bar.

``verbose=1`` (any true int) prints, after each epoch, the epoch out of the
epochs this fit plans, the time elapsed and an estimate of the time left,
and what the history recorded for it, named (with early stopping, the
validation loss and score too: ``valid loss``, ``valid accuracy`` or ``valid R²``)::

    epoch  3/20  elapsed 1.2s  eta 2.8s  train loss 0.4312  valid accuracy 0.8700

Meta-learners count meta-iterations instead of epochs (a line per 100 of
them). Lines go through :func:`~sklearn_mlarch.utils._printing.print_lines`,
whole, to stdout, so logs and worker processes keep them readable; the best
values so far are emphasised only on a terminal (no escape codes in a log).
``verbose='bar'`` draws tqdm's bar instead (in a terminal or a notebook),
with the same values after it.
"""

import time

from skorch.callbacks import PrintLog
from skorch.callbacks.logging import filter_log_keys

from ..utils._printing import emphasise, format_duration, print_lines

#: what ``verbose`` may be besides an int or a bool
VERBOSE_OPTIONS = ("bar",)

#: the names shown for the history's columns, in this order; the other
#: numeric columns (a user's EpochScoring, say) follow under their own key
LABELS = {"train_loss": "train loss", "valid_loss": "valid loss",
          "valid_acc": "valid accuracy", "valid_r2": "valid R²"}

#: columns the line shows another way (elapsed time, the progress) or not at all
_NOT_SHOWN = {"batches", "dur", "meta_iter"}


def progress_mode(verbose):
    """``None`` (quiet), ``'lines'`` or ``'bar'`` for a ``verbose`` value.

    Examples
    --------
    >>> progress_mode(0), progress_mode(2), progress_mode("bar")
    (None, 'lines', 'bar')
    """
    if isinstance(verbose, str):
        if verbose in VERBOSE_OPTIONS:
            return verbose
        raise ValueError(f"verbose={verbose!r} is not a verbosity: pass 0 (quiet), 1 (a line "
                         "per epoch) or 'bar' (a tqdm progress bar).")
    return "lines" if verbose else None


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError("verbose='bar' draws its progress bar with tqdm, which is not "
                          "installed: pip install tqdm (or pass verbose=1 for a line per "
                          "epoch).") from exc
    return tqdm


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) or value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4f}" if isinstance(value, float) else str(value)
    return f"{value:.4g}"


def epoch_values(row, keys_ignored=()):
    """``['train loss 0.4312', ...]``: the numeric values of a history row, named.

    A value that is the best so far (skorch records ``<key>_best``) is
    emphasised on a terminal.
    """
    keys = [k for k in filter_log_keys(row, keys_ignored) if k not in _NOT_SHOWN]
    keys = [k for k in LABELS if k in keys] + sorted(k for k in keys if k not in LABELS)
    values = []
    for key in keys:
        text = _number(row[key])
        if text is not None:
            values.append(f"{LABELS.get(key, key)} "
                          + (emphasise(text) if row.get(f"{key}_best") else text))
    return values


class ProgressLog(PrintLog):
    """The progress of a verbose fit, per epoch: a line, or a tqdm bar (``verbose='bar'``).

    A :class:`skorch.callbacks.PrintLog` so that skorch runs it after every
    other callback, when the epoch's values are all recorded. What it prints
    follows ``net.verbose`` when a fit starts (a warm start may change it).
    The planned total is ``net.max_epochs`` epochs; a data set with a
    ``progress_unit`` (the meta-learners' episode samplers) counts its own
    ``position`` up to its ``stop`` instead.

    Parameters
    ----------
    keys_ignored : str or list of str, default=None
        History columns not to show.
    """

    def __init__(self, keys_ignored=None):
        super().__init__(keys_ignored=keys_ignored, sink=print_lines)

    def _position(self, net):
        return self.source_.position if self.source_ is not None else len(net.history)

    def on_train_begin(self, net, X=None, **kwargs):
        self._close()
        self.mode_ = progress_mode(net.verbose)
        if self.mode_ is None:
            return
        counts_itself = getattr(X, "progress_unit", None) is not None
        self.source_ = X if counts_itself else None
        self.unit_ = X.progress_unit if counts_itself else "epoch"
        self.first_ = self._position(net)
        self.total_ = (X.stop - X.position) if counts_itself else int(net.max_epochs)
        self.start_ = time.perf_counter()
        if self.mode_ == "bar":
            self.bar_ = _tqdm()(total=self.total_, unit=self.unit_, dynamic_ncols=True)

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "mode_", None) is None:
            return
        done = self._position(net) - self.first_
        values = epoch_values(net.history[-1], self.keys_ignored_)
        if self.bar_ is not None:
            self.bar_.set_postfix_str(", ".join(values), refresh=False)
            self.bar_.update(done - self.bar_.n)
            return
        elapsed = time.perf_counter() - self.start_
        left = elapsed / done * max(self.total_ - done, 0) if done > 0 else float("nan")
        width = len(str(self.total_))
        # a warm start goes on from the history's end: say where that is
        so_far = f" ({self.first_ + done} in all)" if self.first_ else ""
        self.sink("  ".join([f"{self.unit_} {done:>{width}}/{self.total_}{so_far}",
                             f"elapsed {format_duration(elapsed)}",
                             f"eta {format_duration(left)}", *values]))

    def on_train_end(self, net, **kwargs):
        self._close()

    def _close(self):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = self.source_ = None

    def __getstate__(self):
        # a fit's bar and data set are not the model's: never copied or pickled
        state = dict(vars(self))
        state.pop("bar_", None)
        state.pop("source_", None)
        return state

    def __setstate__(self, state):
        vars(self).update(state)
        self.bar_ = self.source_ = None
