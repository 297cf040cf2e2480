"""Recurrent estimators: :class:`RNNClassifier` and :class:`RNNRegressor`."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import (BaseNeuralEstimator, NeuralClassifierMixin, NeuralRegressorMixin,
                    _check_representable)
from ..networks import RNNNetwork
from ._docs import fill_doc

_RNN_PARAMS = """\
    input_shape : tuple of int, default=None
        Shape ``(T, F)`` of one sequence: T time steps of F features. ``None``
        takes the shape of a 3-D ``X``, or treats a flat row as a univariate
        sequence ``(n_features, 1)``.
    cell : {'lstm', 'gru', 'rnn'}, default='gru'
        Recurrent cell.
    hidden_size : int, default=64
        Units per recurrent layer and direction.
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=True
        Read sequences in both directions; the two final hidden states are
        concatenated.
    dropout : float, default=0.0
        Dropout between recurrent layers and after hidden dense layers.
    hidden_sizes : tuple of int, default=()
        Dense layers between the last hidden state and the output layer.
    padding_value : float or None, default=None
        Value marking padding after the end of shorter sequences (e.g. 0.0,
        or ``np.nan``, which ``StandardScaler`` passes through). Trailing time
        steps whose features all equal it are padding; sequences are packed
        so padding never changes the result. A list of ``(T_i, F)`` arrays of
        different lengths is padded this way automatically, and sequences
        longer than any seen in fit are accepted by ``predict``.

    The defaults are a bidirectional GRU of 64 units per direction, trained
    for about 1,500 optimizer steps (``max_epochs='auto'``); the README's
    benchmark tables give their accuracy on digits read row by row and on
    variable-length multivariate sequences (JapaneseVowels)."""


def _pad_ragged(X, length):
    n_features = np.shape(X[0])[1]
    longest = max(len(s) for s in X)
    out = np.full((len(X), max(length or 0, longest), n_features), np.nan)
    for i, seq in enumerate(X):
        out[i, :len(seq)] = seq
    return out


def _has_nan(X):
    values = np.asarray(X)
    return values.dtype.kind in "fc" and bool(np.isnan(values).any())


def _is_sequence_list(X):
    return (isinstance(X, (list, tuple)) and len(X) > 0
            and all(np.ndim(s) == 2 for s in X))


class _BaseRNN(BaseNeuralEstimator):
    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "cell": [StrOptions({"lstm", "gru", "rnn"})],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "hidden_sizes": [tuple, list],
        "padding_value": [None, Real],
    }
    _network_class = RNNNetwork

    def _network_kwargs(self):
        return dict(n_features=self.input_shape_[1], cell=self.cell,
                    hidden_size=self.hidden_size, num_layers=self.num_layers,
                    bidirectional=self.bidirectional, dropout=self.dropout,
                    hidden_sizes=tuple(self.hidden_sizes))

    def _default_input_shape(self, n_features):
        return (n_features, 1)  # a flat row is a univariate sequence

    def _check_input_shape(self, shape):
        if len(shape) != 2:
            raise ValueError(
                f"{type(self).__name__} takes sequences (T, F), but the sample shape is "
                f"{shape}. Pass input_shape=(T, F), e.g. input_shape=(8, 8) for 8 time "
                "steps of 8 features given as flat rows of 64.")

    def _validate_X(self, X, y="no_validation", reset=True):
        longer = None if reset else self._longer_sequences(X)
        if longer is None:
            return super()._validate_X(X, y, reset)
        # sequences longer than any seen in fit: packing runs the recurrent
        # layers over each sequence's own length, so no fixed T is needed
        longer = check_array(longer.reshape(len(longer), -1), dtype=(np.float64, np.float32),
                             ensure_all_finite="allow-nan").reshape(longer.shape)
        _check_representable(longer, self._np_dtype)
        return self._finalize_input(np.ascontiguousarray(longer, dtype=self._np_dtype),
                                    True), y

    def _check_sample_shape(self, sample_shape):
        (T, F), fitted = sample_shape, tuple(self.input_shape_)
        if len(sample_shape) == 2 and F == fitted[1] and T != fitted[0]:
            raise ValueError(
                f"X has sequences of {T} time steps, but {type(self).__name__} was fitted on "
                f"{fitted[0]} without padding. To predict on sequences of other lengths, fit "
                "with padding_value set (e.g. padding_value=np.nan), or on a list of "
                "sequences of different lengths.")
        super()._check_sample_shape(sample_shape)

    def _longer_sequences(self, X):
        """X as an ``(n, T', F)`` array when it is padded input longer than the
        fitted sequences (``T' > T``); None otherwise."""
        if not (getattr(self, "_ragged_", False) or self.padding_value is not None):
            return None
        if _is_sequence_list(X):
            longest, widths = max(len(s) for s in X), {np.shape(s)[1] for s in X}
        elif hasattr(X, "shape") and np.ndim(X) == 3:
            longest, widths = np.shape(X)[1], {np.shape(X)[2]}
        else:
            return None
        if longest <= self.input_shape_[0]:
            return None
        if widths != {self.input_shape_[1]}:
            raise ValueError(f"X has sequences of {sorted(widths)} features per time step, but "
                             f"{type(self).__name__} was fitted on {self.input_shape_[1]}.")
        self._check_padding_value(X)
        return _pad_ragged(X, None) if _is_sequence_list(X) else np.asarray(X, dtype=float)

    def _check_padding_value(self, X):
        pad = self.padding_value
        if pad is not None and not np.isnan(pad):
            parts = X if _is_sequence_list(X) else [X]
            if any(_has_nan(part) for part in parts):
                raise ValueError(
                    f"X contains NaN, but padding_value={pad!r}: only time steps equal to "
                    f"{pad!r} mark padding, so NaN would be real missing data. Impute it, "
                    "or pass padding_value=np.nan if NaN marks the padding.")

    def _as_array(self, X, reset):
        self._check_padding_value(X)
        pad = self.padding_value
        if _is_sequence_list(X):
            widths = sorted({np.shape(s)[1] for s in X})
            if len(widths) > 1:
                raise ValueError(f"The sequences have {widths} features per time step; every "
                                 "sequence needs the same number of features F.")
            if len({len(s) for s in X}) > 1:
                if reset:
                    self._ragged_ = True
                return _pad_ragged(X, None if reset else self.input_shape_[0]), True
            X = np.stack([np.asarray(s) for s in X])  # equal lengths: an (n, T, F) array
        if reset:
            self._ragged_ = False
        padded = pad is not None or getattr(self, "_ragged_", False)
        if (not reset and padded and np.ndim(X) == 3
                and np.shape(X)[1] < self.input_shape_[0]
                and np.shape(X)[2] == self.input_shape_[1]):
            # shorter sequences than at fit: the network packs padding away
            X = np.asarray(X, dtype=float)
            tail = np.full((len(X), self.input_shape_[0] - X.shape[1], X.shape[2]), np.nan)
            X = np.concatenate([X, tail], axis=1)
        return X, padded

    def _finalize_input(self, X, padded):
        if not padded:
            return X
        if not np.isnan(self.padding_value if self.padding_value is not None else np.nan):
            X = X.copy()
            step_is_pad = (X == self.padding_value).all(axis=2)
            # only trailing padding steps: a suffix of the sequence
            trailing = np.flip(np.cumprod(np.flip(step_is_pad, axis=1), axis=1), axis=1)
            X[trailing.astype(bool)] = np.nan
        nan_steps = np.isnan(X)
        step_nan = nan_steps.all(axis=2)
        if (nan_steps.any(axis=2) & ~step_nan).any():
            raise ValueError("X contains NaN inside a time step. Only whole time steps "
                             "after the end of a sequence may be padding; impute the rest.")
        if (step_nan[:, 1:] < step_nan[:, :-1]).any():
            raise ValueError("X has padding before real time steps. Put padding after the "
                             "end of each sequence.")
        if step_nan[:, 0].any():
            raise ValueError("X contains a sequence with no time steps (all padding).")
        return X


@fill_doc(max_epochs="auto", lr=3e-3, batch_size="auto", rnn_params=_RNN_PARAMS)
class RNNClassifier(NeuralClassifierMixin, ClassifierMixin, _BaseRNN):
    """Recurrent neural network classifier (LSTM, GRU or plain RNN).

    Input ``(n, T, F)`` sequences, a list of ``(T_i, F)`` sequences of
    different lengths, or flat rows ``(n, T * F)`` with ``input_shape=(T, F)``.
    Labels may be of any type; they are encoded internally.

    Parameters
    ----------
%(rnn_params)s
%(training_params)s
%(classifier_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    See Also
    --------
    RNNRegressor : the same network for regression.
    CNNClassifier : convolutional network for images and signals.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_mlarch import RNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = RNNClassifier(input_shape=(8, 8), cell="gru", max_epochs=2, random_state=0)
    >>> clf.fit(X[:200] / 16, y[:200]).predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        **_BaseRNN._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(self, input_shape=None, *, cell="gru", hidden_size=64, num_layers=1,
                 bidirectional=True, dropout=0.0, hidden_sizes=(), padding_value=None,
                 max_epochs="auto", batch_size="auto", lr=3e-3, lr_schedule="plateau",
                 optimizer="adam",
                 optimizer_kwargs=None, weight_decay=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, warm_start=False,
                 random_state=None, device="cpu", dtype="float32", verbose=0,
                 callbacks=None, class_weight=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())


@fill_doc(max_epochs="auto", lr=3e-3, batch_size="auto", rnn_params=_RNN_PARAMS)
class RNNRegressor(NeuralRegressorMixin, RegressorMixin, _BaseRNN):
    """Recurrent neural network regressor (LSTM, GRU or plain RNN).

    Input as for :class:`RNNClassifier`. Targets are standardised inside
    (weighted by ``sample_weight``) and predictions mapped back.

    Parameters
    ----------
%(rnn_params)s
%(training_params)s

    Attributes
    ----------
%(fitted_attributes)s

    See Also
    --------
    RNNClassifier : the same network for classification.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import RNNRegressor
    >>> X = np.random.RandomState(0).rand(64, 10, 2)
    >>> reg = RNNRegressor(max_epochs=2, random_state=0).fit(X, X.sum(axis=(1, 2)))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, input_shape=None, *, cell="gru", hidden_size=64, num_layers=1,
                 bidirectional=True, dropout=0.0, hidden_sizes=(), padding_value=None,
                 max_epochs="auto", batch_size="auto", lr=3e-3, lr_schedule="plateau",
                 optimizer="adam",
                 optimizer_kwargs=None, weight_decay=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, warm_start=False,
                 random_state=None, device="cpu", dtype="float32", verbose=0,
                 callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())
