"""Convolutional estimators: :class:`CNNClassifier` and :class:`CNNRegressor`."""

from numbers import Integral, Real

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseNeuralEstimator, NeuralClassifierMixin, NeuralRegressorMixin
from ..networks import CNNNetwork
from ._docs import fill_doc

_CNN_PARAMS = """\
    input_shape : tuple of int, default=None
        Shape of one sample, ``(C, L)`` or ``(C, H, W)``. ``None`` takes the
        shape of an n-D ``X``, or treats a flat row as a one-channel signal.
    channels : tuple of int, default=(32, 64)
        Output channels of each convolution block.
    kernel_size : int or tuple of int, default=3
        Kernel size of every block, or one per block.
    pool_size : int or tuple of int, default=2
        Max-pooling window after every block (1: none), or one per block.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    dropout : float, default=0.25
        Dropout after each block and each hidden dense layer.
    hidden_sizes : tuple of int, default=(128,)
        Dense layers before the output layer."""


class _BaseCNN(BaseNeuralEstimator):
    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "channels": [tuple, list],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "pool_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "batch_norm": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "hidden_sizes": [tuple, list],
    }
    _network_class = CNNNetwork

    def _network_kwargs(self):
        return dict(input_shape=self.input_shape_, channels=tuple(self.channels),
                    kernel_size=self.kernel_size, pool_size=self.pool_size,
                    batch_norm=self.batch_norm, dropout=self.dropout,
                    hidden_sizes=tuple(self.hidden_sizes))

    def _default_input_shape(self, n_features):
        return (1, n_features)  # a flat row is a one-channel signal

    def _check_input_shape(self, shape):
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{type(self).__name__} takes signals (C, L) or images (C, H, W), but the "
                f"sample shape is {shape}. Pass input_shape=(C, L) or (C, H, W), e.g. "
                "input_shape=(1, 8, 8) for 8x8 grey images given as flat rows.")


@fill_doc(max_epochs=30, lr=1e-3, cnn_params=_CNN_PARAMS)
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
%(training_params)s
%(classifier_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    See Also
    --------
    CNNRegressor : the same network for regression.
    RNNClassifier : recurrent network for sequences.

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

    def __init__(self, input_shape=None, *, channels=(32, 64), kernel_size=3, pool_size=2,
                 batch_norm=True, dropout=0.25, hidden_sizes=(128,), max_epochs=30,
                 batch_size=64, lr=1e-3, optimizer="adam", optimizer_kwargs=None,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, warm_start=False, random_state=None,
                 device="cpu", dtype="float32", verbose=0, callbacks=None,
                 class_weight=None, init_from=None, freeze=None, unfreeze_after=None,
                 trunk_lr=None):
        self._store_params(locals())


@fill_doc(max_epochs=30, lr=1e-3, cnn_params=_CNN_PARAMS)
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

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import CNNRegressor
    >>> X = np.random.RandomState(0).rand(64, 1, 16)
    >>> reg = CNNRegressor(max_epochs=2, random_state=0).fit(X, X.mean(axis=(1, 2)))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, input_shape=None, *, channels=(32, 64), kernel_size=3, pool_size=2,
                 batch_norm=True, dropout=0.25, hidden_sizes=(128,), max_epochs=30,
                 batch_size=64, lr=1e-3, optimizer="adam", optimizer_kwargs=None,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, warm_start=False, random_state=None,
                 device="cpu", dtype="float32", verbose=0, callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())
