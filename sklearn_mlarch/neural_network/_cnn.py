"""Convolutional estimators: :class:`CNNClassifier` and :class:`CNNRegressor`."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import NeuralClassifierMixin, NeuralEstimator, NeuralRegressorMixin
from ..networks import CNNNetwork, SeriesScaled
from ..networks.cnn import GLOBAL_POOLS, conv_plan, resolve_architecture
from ..networks.series import SERIES_NETWORKS
from ._docs import fill_doc
from ._layout import (array_layout, check_layout, check_series, from_frame, pad_series,
                      series_list, validate_longer)

_CNN_PARAMS = """\
    input_shape : tuple of int, default=None
        Shape of one sample, ``(C, L)`` or ``(C, H, W)``. ``None`` takes the
        shape of an n-D ``X``, or treats a flat row as a one-channel signal.
        Signals are channels first, ``(n, C, L)`` as aeon/sktime's
        ``numpy3D``, the layout of :class:`RNNClassifier` too. Time-first
        data ``(n, L, C)`` (Keras, tslearn) is given as
        ``X.transpose(0, 2, 1)``: fitting on signals with more channels than
        steps is refused unless ``input_shape`` is set. sktime and aeon
        DataFrames (``nested_univ``, ``pd-multiindex``) are read as
        ``(n, C, L)``, or as a list of ``(C, L_i)`` when lengths differ.
    architecture : {'fcn', 'resnet', 'inception'}, default=None
        The network for signals ``(C, L)``. None: the FCN for signals (as
        'fcn') and a small two-block CNN for images. 'resnet': the residual
        network of Wang et al. (2017), three residual blocks of three
        convolutions (:class:`~sklearn_mlarch.networks.ResNetNetwork`).
        'inception': the network of InceptionTime (Ismail Fawaz et al.
        2020), six Inception modules with a shortcut every three
        (:class:`~sklearn_mlarch.networks.InceptionNetwork`). Both set their
        own kernel sizes, pooling, dropout (none) and dense layers: leave
        ``kernel_size``, ``pool_size``, ``hidden_sizes`` and ``dropout`` at
        None; ``global_pool`` may be 'avg' (their default) or 'max',
        ``batch_norm=False`` drops their batch norm. Images take None only.
    channels : tuple of int, default=None
        Output channels of each convolution block. None: (32, 64) for
        images, (64, 128, 64) for signals. With ``architecture='resnet'``
        the filters of each residual block (None: (64, 128, 128)), with
        'inception' those of each branch of each module (None: six of 32);
        the length sets the number of blocks or modules.
    kernel_size : int or tuple of int, default=None
        Kernel size of every block, or one per block. None: 3 for images,
        (7, 5, 3) for signals (3 for blocks after the third).
    pool_size : int or tuple of int, default=None
        Max-pooling window after every block (1: none), or one per block.
        None: 2 for images, 1 for signals.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    dropout : float, default=None
        Dropout after each block and each hidden dense layer. None: 0.25 for
        images, 0 for signals.
    hidden_sizes : tuple of int, default=None
        Dense layers before the output layer. None: (128,) for images, none
        for signals.
    global_pool : {'avg', 'max', 'flatten'}, default=None
        How the last block's output becomes a vector: averaged or maximised
        over all positions, or flattened. None: 'flatten' for images, 'avg'
        for signals given as ``(n, C, L)`` arrays or with ``input_shape``,
        'flatten' for flat rows without ``input_shape`` (often tabular data,
        where a position is a feature).
    augment : callable, str or list of str, default=None
        Data augmentation of each training batch (never of the validation
        rows that ``early_stopping`` holds out, nor at prediction). A
        built-in by name, or a list of names applied in order: for images
        'crop' (a random crop of the image zero-padded by 10 % of each side,
        at least one pixel: a random shift) and 'flip' (horizontal, with
        probability 0.5); for series 'jitter' (Gaussian noise of 0.03 times
        each channel's standard deviation), 'scale' (each series times a
        factor drawn from N(1, 0.1)) and 'window' (a random window of 90 %
        of the length stretched back to it, linearly interpolated). Or a
        callable ``f(X_batch, generator)`` (or ``f(X_batch)``) taking a torch
        tensor ``(B, *input_shape)`` on the training device and returning
        one of the same shape and dtype. Batch ``i`` of epoch ``e`` draws
        from a ``torch.Generator`` seeded by the estimator's seed, ``e`` and
        ``i``, so a warm start continues exactly. A callable is not saved by
        :func:`~sklearn_mlarch.save_model`: pass it to ``load_model``.
    normalize : {'series', 'series+scale'}, default=None
        Signals only. 'series': the network reads each series z-normalised
        per channel over its own steps (inside the network, so streamed
        batches, prediction and saved models all do it); 'series+scale':
        also each channel's level (asinh of its mean) and amplitude (log of
        its standard deviation), as two more constant channels, for series
        whose level or amplitude carries information. None: the values as
        given."""

# the Notes section of both CNN estimators (prose, not parameters)
_CNN_NOTES = """\
    The defaults for signals are the fully convolutional network (FCN) of
    Wang et al. (2017), "Time series classification from scratch with deep
    neural networks: a strong baseline", the time-series literature's usual
    baseline, with half its filters; with global average pooling its size
    does not grow with the signal's length. For images they are a small
    LeNet-style network. Pass ``channels=(128, 256, 128)`` for the paper's
    widths. ``architecture='resnet'`` and ``'inception'`` are the deeper
    networks of the time-series literature's comparisons (ResNet: Wang et
    al. 2017; InceptionTime: Ismail Fawaz et al. 2020, an ensemble of five
    such networks, which
    :class:`~sklearn_mlarch.ensemble.DeepEnsembleClassifier` trains). Their
    kernel widths are the papers' made odd (7, 5, 3; 39, 19, 9), so that
    ``'same'`` padding is symmetric.

    Series of different lengths are given as a list of ``(C, L_i)`` arrays
    (or of 1-D arrays for one channel). Each series is then read at its own
    length: positions after its end are left out of every convolution,
    batch-norm statistic and the global pooling, so padding never changes a
    prediction, and ``predict`` takes series of any length."""


def _tuple(value):
    return None if value is None else tuple(value)


class _BaseCNN(NeuralEstimator):
    _parameter_constraints = {
        **NeuralEstimator._parameter_constraints,
        "architecture": [None, StrOptions({"fcn", *SERIES_NETWORKS})],
        "channels": [None, tuple, list],
        "kernel_size": [None, Interval(Integral, 1, None, closed="left"), tuple, list],
        "pool_size": [None, Interval(Integral, 1, None, closed="left"), tuple, list],
        "batch_norm": ["boolean"],
        "dropout": [None, Interval(Real, 0, 1, closed="left")],
        "hidden_sizes": [None, tuple, list],
        "global_pool": [None, StrOptions(set(GLOBAL_POOLS))],
        "augment": [None, callable, str, list, tuple],
        "normalize": [None, StrOptions({"series", "series+scale"})],
    }
    _network_class = CNNNetwork

    @classmethod
    def _get_test_params(cls):
        """A small, fast configuration for the test suite and the compatibility checks."""
        return dict(channels=(8,), hidden_sizes=(16,), max_epochs=30, lr=1e-2, batch_size=32,
                    dropout=0.0)
    # whether the network reads series of different lengths (CNNNetwork's
    # masking; the vectorised ensemble has none)
    _reads_variable_length = True

    def _network(self):
        if len(self.input_shape_) != 2 and (self.architecture, self.normalize) != (None, None):
            raise ValueError(self._images_refused())
        if self.architecture in SERIES_NETWORKS:
            module, kwargs = SERIES_NETWORKS[self.architecture], self._series_kwargs()
        else:
            module, kwargs = super()._network()
        if self.normalize is None:
            return module, kwargs
        return SeriesScaled, {"body": module, "keep_scale": self.normalize == "series+scale",
                              **kwargs}

    def _images_refused(self):
        given = ("architecture", self.architecture) if self.architecture is not None else (
            "normalize", self.normalize)
        what = "a network for" if given[0] == "architecture" else "for"
        return (f"{given[0]}={given[1]!r} is {what} signals (C, L), but the samples are images "
                f"of shape {tuple(self.input_shape_)}. Pass {given[0]}=None (a 2-D CNN for "
                "images), or give signals (n, C, L).")

    def _series_kwargs(self):
        """Network arguments of ``architecture`` 'resnet' or 'inception' (for signals), checked."""
        given = [name for name in ("kernel_size", "pool_size", "hidden_sizes")
                 if getattr(self, name) is not None]
        if self.dropout not in (None, 0):
            given.append("dropout")
        if self.global_pool == "flatten":
            given.append("global_pool")
        if given:
            raise ValueError(
                f"architecture={self.architecture!r} sets its own kernel sizes, pooling, "
                "dropout (none) and dense layers (none), and pools globally: leave "
                + ", ".join(f"{name}=None" for name in given)
                + (" (global_pool may be 'avg' or 'max')" if "global_pool" in given else "")
                + ". channels sets its filters, batch_norm its batch norm.")
        return dict(input_shape=self.input_shape_, channels=_tuple(self.channels),
                    batch_norm=self.batch_norm, global_pool=self.global_pool or "avg",
                    variable_length=getattr(self, "_ragged_", False))

    def _network_kwargs(self):
        global_pool = self.global_pool
        if global_pool is None and getattr(self, "_flat_rows_", False):
            # flat rows without input_shape are often tabular: averaging over
            # positions would lose which feature is which
            global_pool = "flatten"
        kwargs = dict(input_shape=self.input_shape_, channels=_tuple(self.channels),
                      kernel_size=self.kernel_size, pool_size=self.pool_size,
                      batch_norm=self.batch_norm, dropout=self.dropout,
                      hidden_sizes=_tuple(self.hidden_sizes), global_pool=global_pool)
        if self._reads_variable_length:
            kwargs["variable_length"] = getattr(self, "_ragged_", False)
        return kwargs

    # ------------------------------------------- series of different lengths
    def _check_series(self, series, reset):
        """Check a list of ``(C, L_i)`` series; returns it with float values."""
        series = check_series(series)
        check_layout(self, series[0].shape[0], max(s.shape[1] for s in series), reset)
        return series

    def _min_series_length(self, channels, length):
        """Shortest series that keeps a position after every pooling window of
        the network built for series up to ``length``."""
        if self.architecture in SERIES_NETWORKS:
            return 1  # no pooling that shortens the series
        arch = resolve_architecture((channels, length), self.channels, self.kernel_size,
                                    self.pool_size, self.dropout, self.hidden_sizes,
                                    self.global_pool)
        plan, _, _ = conv_plan((channels, length), arch["channels"], arch["kernel_size"],
                               arch["pool_size"])
        return int(np.prod([p for _, _, p in plan]))

    def _padded_series(self, series, reset):
        """Checked series NaN-padded to one array ``(n, C, L)``, L at least the
        fitted length (longer series than any seen in fit keep their length)."""
        series = self._check_series(series, reset)
        longest = max(s.shape[1] for s in series)
        length = longest if reset else max(longest, self.input_shape_[1])
        if reset or not hasattr(self, "_min_length_"):
            # fixed at fit: a later set_params(pool_size=...) does not change
            # the fitted network, so it does not change what it can read
            self._min_length_ = self._min_series_length(
                series[0].shape[0], longest if reset else self.input_shape_[1])
        need = self._min_length_
        shortest = min(s.shape[1] for s in series)
        if shortest < need:
            raise ValueError(
                f"X holds a series of {shortest} steps, fewer than {need}, the product of "
                "the pooling windows: nothing of it would remain after pooling. Pass "
                "pool_size=1 (or smaller windows), or leave such short series out.")
        return pad_series(series, length)

    def _as_array(self, X, reset):
        ragged = not reset and getattr(self, "_ragged_", False)
        series = series_list(X, always=ragged)
        if series is not None and not ragged and len({s.shape for s in series}) == 1:
            X, series = np.stack(self._check_series(series, reset)), None  # one length
        if series is None:
            array_layout(self, X, reset)
            if reset:
                self._ragged_ = False
            return X, False
        if not self._reads_variable_length:
            raise ValueError(f"{type(self).__name__} takes series of one length. Pad or "
                             "resample them to one length, or use CNNClassifier, which reads "
                             "a list of series of different lengths.")
        if self.global_pool == "flatten" or not (reset or ragged):
            raise ValueError(
                f"X holds series of different lengths, which {type(self).__name__} reads "
                "with global_pool 'avg' or 'max' after being fitted on such a list. "
                + ("Pass global_pool=None or 'avg'." if self.global_pool == "flatten" else
                   "Fit on a list of series of different lengths (any length is then "
                   "accepted), or give series of the fitted length."))
        if reset:
            self._ragged_ = True
        return self._padded_series(series, reset), True

    def _reads_in_batches(self, reset):
        # fitted on series of different lengths: X is read as a list of series
        return reset or not getattr(self, "_ragged_", False)

    def _validate_X(self, X, y="no_validation", reset=True, **kwargs):
        X = from_frame(X)
        ragged = not reset and getattr(self, "_ragged_", False)
        if ragged and isinstance(X, np.ndarray) and X.ndim == 3:
            X = list(X)  # fitted on series of different lengths: any length is read
        series = series_list(X, always=True) if ragged else None
        if series is None or max(s.shape[1] for s in series) <= self.input_shape_[1]:
            return super()._validate_X(X, y, reset, **kwargs)
        # longer series than any seen in fit: the network reads any length, so
        # X skips the fitted-width check; y is checked as usual
        return validate_longer(self, self._padded_series(series, reset=False), y,
                               kwargs.get("targets"))

    def _default_input_shape(self, n_features):
        return (1, n_features)  # a flat row is a one-channel signal

    def _check_input_shape(self, shape):
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{type(self).__name__} takes signals (C, L) or images (C, H, W), but the "
                f"sample shape is {shape}. Pass input_shape=(C, L) or (C, H, W), e.g. "
                "input_shape=(1, 8, 8) for 8x8 grey images given as flat rows.")


@fill_doc(max_epochs="auto", lr=1e-3, batch_size="auto", cnn_params=_CNN_PARAMS,
          cnn_notes=_CNN_NOTES)
class CNNClassifier(NeuralClassifierMixin, ClassifierMixin, _BaseCNN):
    """Convolutional neural network classifier.

    Conv2d blocks for images ``(n, C, H, W)``, Conv1d blocks for signals
    ``(n, C, L)``; flat rows ``(n, n_features)`` are reshaped to
    ``input_shape`` so the estimator works in a Pipeline after
    ``StandardScaler``, in Bagging and in Stacking. Labels may be of any
    type; they are encoded internally.

    Parameters
    ----------
%(cnn_params)s
%(engine_params)s
%(classifier_params)s
%(transfer_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    See Also
    --------
    CNNRegressor : the same network for regression.
    RNNClassifier : recurrent network for sequences.

    Notes
    -----
%(cnn_notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_mlarch import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    >>> clf.fit(X[:200] / 16, y[:200]).predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        **_BaseCNN._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(self, input_shape=None, *, architecture=None, channels=None, kernel_size=None,
                 pool_size=None, batch_norm=True, dropout=None, hidden_sizes=None,
                 global_pool=None, augment=None, normalize=None,
                 max_epochs="auto", batch_size="auto", lr=1e-3, lr_schedule="plateau",
                 optimizer="adam", optimizer_kwargs=None,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, warm_start=False, random_state=None,
                 device="cpu", dtype="float32", verbose=0, callbacks=None,
                 class_weight=None, init_from=None, freeze=None, unfreeze_after=None,
                 trunk_lr=None):
        self._store_params(locals())


@fill_doc(max_epochs="auto", lr=1e-3, batch_size="auto", cnn_params=_CNN_PARAMS,
          cnn_notes=_CNN_NOTES)
class CNNRegressor(NeuralRegressorMixin, RegressorMixin, _BaseCNN):
    """Convolutional neural network regressor with one or more outputs.

    Conv2d blocks for images ``(n, C, H, W)``, Conv1d blocks for signals
    ``(n, C, L)``; flat rows are reshaped to ``input_shape``. Targets are
    standardised inside (weighted by ``sample_weight``) and predictions
    mapped back, so one learning rate serves any target scale.

    Parameters
    ----------
%(cnn_params)s
%(training_params)s

    Attributes
    ----------
%(fitted_attributes)s

    See Also
    --------
    CNNClassifier : the same network for classification.

    Notes
    -----
%(cnn_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import CNNRegressor
    >>> X = np.random.RandomState(0).rand(64, 1, 16)
    >>> reg = CNNRegressor(max_epochs=2, random_state=0).fit(X, X.mean(axis=(1, 2)))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, input_shape=None, *, architecture=None, channels=None, kernel_size=None,
                 pool_size=None, batch_norm=True, dropout=None, hidden_sizes=None,
                 global_pool=None, augment=None, normalize=None,
                 max_epochs="auto", batch_size="auto", lr=1e-3, lr_schedule="plateau",
                 optimizer="adam", optimizer_kwargs=None,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, warm_start=False, random_state=None,
                 device="cpu", dtype="float32", verbose=0, callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())
