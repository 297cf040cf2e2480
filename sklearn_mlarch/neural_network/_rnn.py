"""Recurrent estimators: :class:`RNNClassifier` and :class:`RNNRegressor`."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import NeuralClassifierMixin, NeuralEstimator, NeuralRegressorMixin
from ..networks import RNNNetwork
from ._docs import fill_doc
from ._layout import (array_layout, check_layout, check_series, from_frame, pad_series,
                      series_list, validate_longer)

_RNN_PARAMS = """\
    input_shape : tuple of int, default=None
        Shape ``(C, L)`` of one series: C channels (features per time step)
        of L time steps, channels first as for :class:`CNNClassifier` and
        aeon/sktime's ``numpy3D``. ``None`` takes the shape of an
        ``(n, C, L)`` X, or treats a flat row as one channel of
        ``n_features`` steps. Time-first data ``(n, L, C)`` (Keras, tslearn)
        is given as ``X.transpose(0, 2, 1)``: fitting on series with more
        channels than steps is refused unless ``input_shape`` is set. sktime
        and aeon DataFrames (``nested_univ``, ``pd-multiindex``) are read as
        ``(n, C, L)``, or as a list of ``(C, L_i)`` when lengths differ.
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
        Value marking padding after the end of shorter series (e.g. 0.0,
        or ``np.nan``, which ``StandardScaler`` passes through). Trailing time
        steps whose channels all equal it are padding; series are packed so
        padding never changes the result. A list of ``(C, L_i)`` arrays of
        different lengths is padded this way automatically, and series
        longer than any seen in fit are accepted by ``predict``."""

# the Notes section of both RNN estimators (prose, not parameters)
_RNN_NOTES = """\
    The defaults are a bidirectional GRU of 64 units per direction, trained
    for about 1,500 optimizer steps (``max_epochs='auto'``); the README's
    benchmark tables give their accuracy on digits read row by row and on
    variable-length multivariate sequences (JapaneseVowels)."""


def _has_nan(X):
    values = np.asarray(X)
    return values.dtype.kind in "fc" and bool(np.isnan(values).any())


class _BaseRNN(NeuralEstimator):
    _parameter_constraints = {
        **NeuralEstimator._parameter_constraints,
        "cell": [StrOptions({"lstm", "gru", "rnn"})],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "hidden_sizes": [tuple, list],
        "padding_value": [None, Real],
    }
    _network_class = RNNNetwork

    @classmethod
    def _get_test_params(cls):
        """A small, fast configuration for the test suite and the compatibility checks."""
        return dict(hidden_size=16, max_epochs=40, lr=1e-2, batch_size=32)

    def _network_kwargs(self):
        # the estimator's series are (C, L); the network transposes them to
        # the recurrent cell's (T, F)
        return dict(n_features=self.input_shape_[0], layout="NCL", cell=self.cell,
                    hidden_size=self.hidden_size, num_layers=self.num_layers,
                    bidirectional=self.bidirectional, dropout=self.dropout,
                    hidden_sizes=tuple(self.hidden_sizes))

    def _default_input_shape(self, n_features):
        return (1, n_features)  # a flat row is one channel, as for the CNN

    def _check_input_shape(self, shape):
        if len(shape) != 2:
            raise ValueError(
                f"{type(self).__name__} takes series (C, L), but the sample shape is "
                f"{shape}. Pass input_shape=(C, L), e.g. input_shape=(8, 8) for 8 channels "
                "of 8 time steps given as flat rows of 64.")

    @property
    def _padded(self):
        """Whether X may hold padding: fitted on series of different lengths,
        or ``padding_value`` set."""
        return getattr(self, "_ragged_", False) or self.padding_value is not None

    def _reads_in_batches(self, reset):
        # padding is found from the whole X (a suffix of each series)
        return self.padding_value is None and (reset or not getattr(self, "_ragged_", False))

    def _validate_X(self, X, y="no_validation", reset=True, **kwargs):
        X = from_frame(X)
        longer = None if reset else self._longer_series(X)
        if longer is None:
            return super()._validate_X(X, y, reset, **kwargs)
        # series longer than any seen in fit: packing runs the recurrent
        # layers over each series' own length, so no fixed L is needed
        X, y = validate_longer(self, longer, y, kwargs.get("targets"))
        return self._finalize_input(X, True), y

    def _check_sample_shape(self, sample_shape):
        fitted = tuple(self.input_shape_)
        if (len(sample_shape) == 2 and sample_shape[0] == fitted[0]
                and sample_shape[1] != fitted[1]):
            raise ValueError(
                f"X has series of {sample_shape[1]} time steps, but {type(self).__name__} "
                f"was fitted on {fitted[1]} without padding. Pass series of other lengths "
                "as a list of (C, L_i) arrays, each read at its own length, or fit with "
                "padding_value set (e.g. padding_value=np.nan) to predict on padded arrays.")
        super()._check_sample_shape(sample_shape)

    def _longer_series(self, X):
        """X as an ``(n, C, L')`` array when it is a list of series, or padded
        input, longer than the fitted series (``L' > L``); None otherwise."""
        series = series_list(X, always=getattr(self, "_ragged_", False))
        if series is not None:
            longest = max(s.shape[1] for s in series)
        elif self._padded and isinstance(X, np.ndarray) and X.ndim == 3:
            longest = X.shape[2]
        else:
            return None
        if longest <= self.input_shape_[1]:
            return None
        self._check_padding_value(X)
        if series is None:
            check_layout(self, X.shape[1], longest, reset=False)
            return X
        series = check_series(series)
        check_layout(self, series[0].shape[0], longest, reset=False)
        return pad_series(series)

    def _check_padding_value(self, X):
        pad = self.padding_value
        if pad is not None and not np.isnan(pad):
            parts = X if isinstance(X, (list, tuple)) else [X]
            if any(_has_nan(part) for part in parts):
                raise ValueError(
                    f"X contains NaN, but padding_value={pad!r}: only time steps equal to "
                    f"{pad!r} mark padding, so NaN would be real missing data. Impute it, "
                    "or pass padding_value=np.nan if NaN marks the padding.")

    def _as_array(self, X, reset):
        self._check_padding_value(X)
        series = series_list(X, always=not reset and getattr(self, "_ragged_", False))
        if series is None:
            array_layout(self, X, reset)
        else:
            series = check_series(series)
            check_layout(self, series[0].shape[0], max(s.shape[1] for s in series), reset)
            if len({s.shape[1] for s in series}) > 1 or not reset:
                if reset:
                    self._ragged_ = True
                # the network packs the padding away: any length is read
                return pad_series(series, None if reset else self.input_shape_[1]), True
            X = np.stack(series)  # one length: an (n, C, L) array
        if reset:
            self._ragged_ = False
        if (not reset and self._padded and isinstance(X, np.ndarray) and X.ndim == 3
                and X.shape[2] < self.input_shape_[1]):
            # shorter series than at fit: the network packs the padding away
            X = np.asarray(X, dtype=float)
            X = np.concatenate([X, np.full((*X.shape[:2], self.input_shape_[1] - X.shape[2]),
                                           np.nan)], axis=2)
        return X, self._padded

    def _finalize_input(self, X, padded):
        if not padded:
            return X
        pad = self.padding_value
        if pad is not None and not np.isnan(pad):
            step_is_pad = (X == pad).all(axis=1)  # (n, L): every channel is padding
            # only trailing padding steps: a suffix of the series
            trailing = np.flip(np.cumprod(np.flip(step_is_pad, axis=1), axis=1), axis=1)
            X = X.copy()
            X[np.broadcast_to(trailing.astype(bool)[:, None, :], X.shape)] = np.nan
        nan = np.isnan(X)
        step_nan = nan.all(axis=1)
        if (nan.any(axis=1) & ~step_nan).any():
            raise ValueError("X contains NaN inside a time step. Only whole time steps "
                             "after the end of a series may be padding; impute the rest.")
        if (step_nan[:, 1:] < step_nan[:, :-1]).any():
            raise ValueError("X has padding before real time steps. Put padding after the "
                             "end of each series.")
        if step_nan[:, 0].any():
            raise ValueError("X contains a series with no time steps (all padding).")
        return X


@fill_doc(max_epochs="auto", lr=3e-3, batch_size="auto", rnn_params=_RNN_PARAMS,
          rnn_notes=_RNN_NOTES)
class RNNClassifier(NeuralClassifierMixin, ClassifierMixin, _BaseRNN):
    """Recurrent neural network classifier (LSTM, GRU or plain RNN).

    Input ``(n, C, L)`` series (C channels of L time steps, channels first
    as for :class:`CNNClassifier`), a list of ``(C, L_i)`` series of
    different lengths, an sktime/aeon DataFrame, or flat rows
    ``(n, C * L)`` with ``input_shape=(C, L)``. Labels may be of any type;
    they are encoded internally.

    Parameters
    ----------
%(rnn_params)s
%(engine_params)s
%(classifier_params)s
%(transfer_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    See Also
    --------
    RNNRegressor : the same network for regression.
    CNNClassifier : convolutional network for images and signals.

    Notes
    -----
%(rnn_notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_mlarch import RNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> # each image as 8 channels (its rows) of 8 steps (its columns)
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


@fill_doc(max_epochs="auto", lr=3e-3, batch_size="auto", rnn_params=_RNN_PARAMS,
          rnn_notes=_RNN_NOTES)
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

    Notes
    -----
%(rnn_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import RNNRegressor
    >>> X = np.random.RandomState(0).rand(64, 2, 10)  # 2 channels of 10 steps
    >>> reg = RNNRegressor(max_epochs=2, random_state=0).fit(X, X.sum(axis=(1, 2)))
    >>> reg.input_shape_, reg.predict(X[:3]).shape
    ((2, 10), (3,))
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
