"""How an estimator reads its input: validation and the sample shape.

:class:`InputReader` is the part of an estimator that turns scikit-learn
data (flat rows, n-D arrays, lists of series) into the ``(n, *input_shape_)``
array its network reads. Each architecture overrides its hooks
(``_as_array``, ``_default_input_shape``, ``_check_input_shape``); the
meta-estimators read their input through the estimator they wrap.
"""

import numpy as np
from sklearn.utils.validation import (_check_y, check_array, check_consistent_length,
                                      validate_data)

from ._training.stream import (IterableSource, LazyRows, is_streamed, read_whole, source_of,
                               check_representable as _check_representable)

from .networks.blocks import positive_ints


def check_missing_targets(estimator, X, y):
    """``y`` of targets where missing labels (NaN, None, pandas' NA) are data, not
    an error (multi-task), checked against the validated ``X``."""
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the "
                         "target y is None.")
    if hasattr(y, "columns"):  # each column keeps its own type (Int64 with NA: ints)
        y = y.astype(object).to_numpy()
    y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite="allow-nan",
                    input_name="y")
    check_consistent_length(X, y)
    return y


class InputReader:
    """Input validation and sample shapes of a neural estimator (a mixin)."""

    # ------------------------------------------------------------------ input
    def _as_array(self, X, reset):
        """Hook: turn other inputs (ragged sequence lists) into arrays.

        Returns ``(X, padded)``; ``padded`` says NaN may mark padding.
        """
        if (isinstance(X, (list, tuple)) and len(X) > 1
                and all(hasattr(s, "__len__") and not isinstance(s, str) for s in X)
                and len({np.shape(s) for s in X}) > 1):
            raise ValueError(
                f"X is a list of arrays of different shapes, which {type(self).__name__} "
                "cannot read: pad or resample them to one shape. CNNClassifier and "
                "CNNRegressor read a list of (C, L_i) series, RNNClassifier and "
                "RNNRegressor a list of (T_i, F) sequences.")
        return X, False

    def _finalize_input(self, X, padded):
        """Hook: last checks once X has its network shape ``(n, *input_shape_)``."""
        return X

    def _read_input(self, X, y="no_validation", reset=True, targets=None):
        """``(X, y)`` for the network: in-memory data validated whole, a
        streamed source (memmap, Dask array, torch Dataset) read lazily."""
        if is_streamed(X):
            if self._reads_in_batches(reset):
                return self._validate_streamed(source_of(X), y, reset, targets)
            X = read_whole(X, f"{type(self).__name__} marks padding in X")
        return self._validate_X(X, y, reset=reset, targets=targets)

    def _reads_in_batches(self, reset):
        """Hook: whether a streamed X may be read batch by batch (not where
        the whole X says where series end: padding)."""
        return True

    def _validate_streamed(self, source, y, reset, targets):
        """Check a streamed source's first rows as an array would be checked,
        and its labels whole; its values are checked as each batch is read."""
        fitting = not (isinstance(y, str) and y == "no_validation")
        if isinstance(source, IterableSource):  # read once, to a file read in batches
            source, labels = source.spool()
            y = labels if fitting and y is None else y
        n = len(source)
        if n < (2 if fitting else 1):
            raise ValueError(f"X has {n} sample(s), but {type(self).__name__} needs at "
                             f"least {2 if fitting else 1}.")
        if fitting and y is None:
            y = source.labels()  # a Dataset's own labels
        self._validate_X(source.read(slice(0, 2)), reset=reset)  # shape, layout
        if fitting:
            if targets.allow_missing:
                y = check_missing_targets(self, np.empty((n, 0)), y)
            else:
                y = _check_y(y, multi_output=targets.multi_output, y_numeric=targets.numeric,
                             estimator=self)
                check_consistent_length(np.empty((n, 0)), y)
        return LazyRows(source, self.input_shape_, self.dtype), y

    def _validate_X(self, X, y="no_validation", reset=True, targets=None):
        """Validate X (and y unless ``"no_validation"``, as ``targets`` reads it) and
        shape X for the network; returns ``(X, y)``."""
        X, padded = self._as_array(X, reset)
        sample_shape = None
        if isinstance(X, np.ndarray) and X.ndim > 2:
            sample_shape = tuple(int(s) for s in X.shape[1:])
            if not reset:
                self._check_sample_shape(sample_shape)
            X = X.reshape(len(X), -1)
        fitting = not (isinstance(y, str) and y == "no_validation")
        # integers straight to the training dtype: through float64 first, a
        # uint8 image array would take 8 times its size, and the same again
        # in the range check (the values are the same either way)
        floats = (np.float32, np.float64) if np.dtype(self.dtype) == np.float32 else (
            np.float64, np.float32)
        kwargs = dict(reset=reset, dtype=floats,
                      ensure_min_samples=2 if fitting else 1,
                      ensure_all_finite="allow-nan" if padded else True)
        try:
            if fitting and targets.allow_missing:
                X = validate_data(self, X, **kwargs)
                y = check_missing_targets(self, X, y)
            elif fitting:
                X, y = validate_data(self, X, y, multi_output=targets.multi_output,
                                     y_numeric=targets.numeric, **kwargs)
            else:
                X = validate_data(self, X, **kwargs)
        except ValueError as exc:
            # a CNN that can read the series as a list (fitting, or fitted so)
            lists = getattr(self, "_reads_variable_length", False) and (
                reset or getattr(self, "_ragged_", False))
            if not (lists and sample_shape is not None and len(sample_shape) == 2
                    and "Input X contains NaN" in str(exc)):
                raise
            raise ValueError(
                f"{exc} If the NaNs pad series of different lengths, give the series as a "
                "list of arrays, each of its own length: the network then reads each "
                "series at its length.") from exc
        if reset:
            self.input_shape_ = self._resolve_input_shape(X.shape[1], sample_shape)
        _check_representable(X, np.dtype(self.dtype))
        # C order: torch picks other (differently rounding) kernels for strided input
        X = np.ascontiguousarray(X.reshape(len(X), *self.input_shape_), dtype=self.dtype)
        return self._finalize_input(X, padded), y

    def _check_sample_shape(self, sample_shape):
        fitted = tuple(self.input_shape_)
        if (len(sample_shape) == len(fitted) == 2 and sample_shape[0] == fitted[0]
                and sample_shape != fitted):
            raise ValueError(
                f"X has series of length {sample_shape[1]}, but {type(self).__name__} was "
                f"fitted on series of length {fitted[1]}. Give series of that length (pad or "
                "resample them), or fit on a list of series of different lengths: the "
                "estimator then reads any length.")
        if sample_shape != fitted:
            raise ValueError(
                f"X has samples of shape {sample_shape}, but {type(self).__name__} was "
                f"fitted on samples of shape {tuple(self.input_shape_)}. Give X in the "
                "fitted layout (axes in the same order, e.g. channels first: "
                "X.transpose(0, 3, 1, 2) for (n, H, W, C) images), or flat rows.")

    def _resolve_input_shape(self, n_features, sample_shape):
        # flat rows without input_shape: often tabular data (the CNN then
        # flattens rather than averaging over positions)
        self._flat_rows_ = sample_shape is None and self.input_shape is None
        if self.input_shape is not None:
            shape = positive_ints(self.input_shape, "input_shape")
            if int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"input_shape={tuple(self.input_shape)} needs {int(np.prod(shape))} "
                    f"features per sample, but X has {n_features}"
                    + (f" (sample shape {sample_shape})" if sample_shape else "")
                    + ". Pass an input_shape whose product is the number of features, "
                    "or input_shape=None to use X's own shape. In BaggingClassifier or "
                    "BaggingRegressor, feature subsampling cannot keep a fixed input shape: "
                    "use max_features=1.0 and bootstrap_features=False.")
            if sample_shape is not None and sample_shape != shape:
                raise ValueError(
                    f"X has samples of shape {sample_shape} but input_shape={shape}. "
                    "Reorder X's axes to input_shape (e.g. channels first), pass "
                    "input_shape=None to use X's own shape, or pass flat rows.")
        elif sample_shape is not None:
            shape = sample_shape
        else:
            shape = self._default_input_shape(n_features)
        self._check_input_shape(shape)
        return shape
