"""The one sequence layout of the CNN and RNN estimators.

Both read a series as ``(C, L)``: C channels of L time steps, channels
first, as aeon and sktime's ``numpy3D`` and torch's ``Conv1d`` do. X is

- an ``(n, C, L)`` array;
- a list of ``(C, L_i)`` arrays (1-D arrays for one channel), whose lengths
  may differ;
- flat rows ``(n, C * L)`` with ``input_shape=(C, L)``, or without it one
  channel of ``n_features`` steps;
- an sktime/aeon DataFrame: ``nested_univ`` (one column per channel, each
  cell a ``pd.Series`` or 1-D array) or ``pd-multiindex`` (rows indexed by
  ``(instance, time)``, one column per channel). Both become an
  ``(n, C, L)`` array, or a list of ``(C, L_i)`` arrays when lengths differ.

Nothing else is guessed: time-first data, ``(n, L, C)`` as Keras and
tslearn give it, is transposed by the caller. Fitting on series with more
channels than time steps, which is how such data looks, is refused with the
transposition to use unless ``input_shape`` says ``(C, L)`` explicitly.
"""

import sys

import numpy as np
from sklearn.utils import check_array, check_X_y

from .._input import _check_representable, check_missing_targets

TRANSPOSE = ("Series are read channels first, (C, L) (aeon/sktime's numpy3D). Time-first "
             "data, (n, L, C) as Keras and tslearn give it, is X.transpose(0, 2, 1); a list "
             "of (L_i, C) series is [s.T for s in X].")


# ------------------------------------------------------------ sktime/aeon frames
def from_frame(X):
    """An sktime/aeon DataFrame as ``(n, C, L)`` or a list of ``(C, L_i)``.

    ``nested_univ`` (cells are series) and ``pd-multiindex`` (a row
    MultiIndex ``(instance, time)``) are converted; any other X, a plain
    DataFrame of flat rows included, is returned as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> nested = pd.DataFrame({"a": [pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 5.0])],
    ...                        "b": [pd.Series([0.0, 0.0, 1.0]), pd.Series([1.0, 1.0])]})
    >>> [s.shape for s in from_frame(nested)]
    [(2, 3), (2, 2)]
    >>> long = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]},
    ...                     index=pd.MultiIndex.from_product([[7, 8], [0, 1]]))
    >>> from_frame(long)
    array([[[1., 2.]],
    <BLANKLINE>
           [[3., 4.]]])
    """
    pd = sys.modules.get("pandas")  # no pandas loaded: X cannot be a DataFrame
    if pd is None or not isinstance(X, pd.DataFrame):
        return X
    if isinstance(X.index, pd.MultiIndex):
        return _stack(_from_multiindex(X, pd))
    kinds = (pd.Series, np.ndarray, list)
    objects = [c for c, dtype in zip(range(X.shape[1]), X.dtypes) if dtype == object]
    if not any(isinstance(c, kinds) for j in objects for c in X.iloc[:, j]):
        return X  # flat rows (only object columns can hold series)
    cells = X.to_numpy(dtype=object)
    if not all(isinstance(c, kinds) for c in cells.ravel()):
        raise ValueError("X is a DataFrame whose cells mix series and single values. In "
                         "sktime's nested_univ layout every cell is a pd.Series (one column "
                         "per channel); otherwise give one number per cell (flat rows).")
    series = []
    for i, row in enumerate(cells):
        channels = [np.asarray(c.to_numpy() if isinstance(c, pd.Series) else c) for c in row]
        if any(c.ndim != 1 for c in channels):
            raise ValueError(f"X's row {i} holds a cell that is not a 1-D series.")
        lengths = sorted({len(c) for c in channels})
        if len(lengths) > 1:
            raise ValueError(f"X's row {i} has channels of lengths {lengths}; the channels of "
                             "one series need the same length (resample them to one).")
        series.append(np.stack(channels))
    return _stack(series)


def _from_multiindex(X, pd):
    if X.index.nlevels != 2:
        raise ValueError(
            f"X has a {X.index.nlevels}-level row MultiIndex. A DataFrame of series is read "
            "in sktime's pd-multiindex layout, rows indexed by (instance, time) and one column "
            "per channel; drop the other levels first (e.g. X.droplevel(0) for hierarchical "
            "data, one instance per remaining first level).")
    codes, instances = pd.factorize(X.index.get_level_values(0))
    times = X.index.get_level_values(1)
    values = X.to_numpy()
    order = np.argsort(codes, kind="stable")  # stored order kept within an instance
    series = []
    for k, rows in enumerate(np.split(order, np.cumsum(np.bincount(codes))[:-1])):
        steps = times[rows]
        if not (steps.is_monotonic_increasing and steps.is_unique):
            raise ValueError(
                f"X's time index is not increasing within instance {instances[k]!r}. Sort "
                "each instance's rows by time (X.sort_index() also sorts the instances: "
                "order y the same way).")
        series.append(values[rows].T)
    return series


def _stack(series):
    if series and len({s.shape for s in series}) == 1:
        return np.stack(series)
    return series


# ------------------------------------------------------------- lists of series
def series_list(X, always=False):
    """X as a list of ``(C, L_i)`` arrays when it is a list of series.

    X may also be a 1-D object array of such series.
    2-D elements are ``(C, L_i)`` series of any lengths; 1-D elements are
    one-channel series when their lengths differ (equal-length 1-D rows are
    scikit-learn's flat rows), or always once the estimator was fitted on
    series of different lengths (``always``). None for anything else.

    Examples
    --------
    >>> [s.shape for s in series_list([np.zeros((2, 5)), np.zeros((2, 3))])]
    [(2, 5), (2, 3)]
    >>> [s.shape for s in series_list([[1.0, 2.0, 3.0], [4.0, 5.0]])]
    [(1, 3), (1, 2)]
    >>> series_list([[1.0, 2.0], [3.0, 4.0]]) is None  # flat rows
    True
    """
    if (isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1
            and all(isinstance(s, (np.ndarray, list, tuple)) for s in X)):
        X = list(X)  # an object array of series, as aeon and sktime users build them
    if not isinstance(X, (list, tuple)) or not X:
        return None
    dims = {np.ndim(s) for s in X}
    if dims == {1, 2}:
        raise ValueError("X mixes 1-D and 2-D series. Give every series as a (C, L_i) "
                         "array, or every one as a 1-D array for one channel.")
    if dims == {2} or (dims == {1} and (always or len({len(s) for s in X}) > 1)):
        return [np.asarray(s).reshape(1, -1) if np.ndim(s) == 1 else np.asarray(s)
                for s in X]
    return None


def check_series(series):
    """Check a list of ``(C, L_i)`` series; returns it as float arrays."""
    channels = sorted({s.shape[0] for s in series})
    if len(channels) > 1:
        raise ValueError(f"X holds series with {channels} channels; every series needs the "
                         f"same number of channels C (each array is (C, L_i)). {TRANSPOSE}")
    if min(s.shape[1] for s in series) == 0:
        raise ValueError("X contains a series of length 0.")
    if any(np.iscomplexobj(s) for s in series):
        raise ValueError("X's series hold complex numbers, which the network cannot "
                         "read. Pass their real part, or their magnitude, explicitly.")
    try:
        series = [np.asarray(s, dtype=np.float64) for s in series]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X's series must hold numbers: {exc}") from exc
    if not all(np.isfinite(s).all() for s in series):
        raise ValueError("Input X contains NaN or infinity. Impute missing values in "
                         "the series first; a shorter series needs no padding.")
    return series


def pad_series(series, length=None):
    """``(n, C, max(length, longest))`` with NaN after each series' end.

    >>> pad_series([np.ones((1, 2)), np.ones((1, 1))], 3)[:, 0]
    array([[ 1.,  1., nan],
           [ 1., nan, nan]])
    """
    longest = max(s.shape[1] for s in series)
    out = np.full((len(series), series[0].shape[0], max(length or 0, longest)), np.nan)
    for i, s in enumerate(series):
        out[i, :, :s.shape[1]] = s
    return out


# --------------------------------------------------------------------- checks
def check_layout(estimator, n_channels, length, reset):
    """Refuse series that look time-first at fit, or whose channels differ
    from the fitted ones at predict, with the transposition to use."""
    name = type(estimator).__name__
    if reset and estimator.input_shape is None and n_channels > length:
        raise ValueError(
            f"X holds series of {n_channels} channels and {length} time steps: more channels "
            f"than steps, which is how time-first data looks. {TRANSPOSE} If these really are "
            f"{n_channels} channels, pass input_shape=({n_channels}, {length}).")
    fitted = None if reset else estimator.input_shape_[0]
    if fitted is not None and len(estimator.input_shape_) == 2 and n_channels != fitted:
        raise ValueError(f"X has series of {n_channels} channels, but {name} was fitted on "
                         f"{fitted}. {TRANSPOSE}")


def array_layout(estimator, X, reset):
    """:func:`check_layout` for an ``(n, C, L)`` array X; other X pass."""
    if (isinstance(X, np.ndarray) and X.ndim == 3
            and (reset or len(estimator.input_shape_) == 2)):
        check_layout(estimator, X.shape[1], X.shape[2], reset)


def validate_longer(estimator, X, y, targets=None):
    """Validate an ``(n, C, L')`` X longer than the fitted series, and y.

    The network reads any length, so X skips the fitted-width check; its
    values (NaN only as padding) and y are checked as ``validate_data``
    would (y as ``targets`` reads it, where given).
    """
    flat = check_array(X.reshape(len(X), -1), dtype=(np.float64, np.float32),
                       ensure_all_finite="allow-nan")
    if not (isinstance(y, str) and y == "no_validation"):
        if targets.allow_missing:
            y = check_missing_targets(estimator, flat, y)
        else:
            _, y = check_X_y(flat, y, dtype=None, ensure_all_finite="allow-nan",
                             ensure_min_samples=2, multi_output=targets.multi_output,
                             y_numeric=targets.numeric)
    dtype = np.dtype(estimator.dtype)
    X = flat.reshape(X.shape)
    _check_representable(X, dtype)
    return np.ascontiguousarray(X, dtype=dtype), y
