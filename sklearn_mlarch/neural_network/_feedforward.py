"""Dense networks for flat features: :class:`FeedForwardClassifier` and
:class:`FeedForwardRegressor`, and :class:`TorchModuleClassifier` and
:class:`TorchModuleRegressor` for a torch module of the user's."""

from numbers import Real

import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import NeuralClassifierMixin, NeuralEstimator, NeuralRegressorMixin
from ..networks import MLPNetwork, ModuleNetwork
from ._docs import fill_doc

_FEEDFORWARD_PARAMS = """\
    input_shape : tuple of int, default=None
        ``(n_features,)``; None takes the number of columns of ``X``. The
        network reads flat rows: reshape n-D samples first
        (``X.reshape(len(X), -1)``), or use the CNN or RNN estimators.
    hidden_sizes : tuple of int, default=(100,)
        Width of each hidden layer (scikit-learn's ``MLPClassifier`` default).
    dropout : float, default=0.0
        Dropout after each hidden layer."""

_MODULE_PARAMS = """\
    module : torch.nn.Module, default=None
        The network body: maps a batch of ``input_shape`` samples to
        ``(batch, features)``; a linear head sized from the targets is added
        (block ``head``; the module is block ``trunk``). A torchvision model
        with its classifier replaced by ``torch.nn.Identity()``, say. Copied
        at every fit: yours is never trained in place. None: ``nn.Flatten()``,
        i.e. a linear model.
    input_shape : tuple of int, default=None
        Shape of one sample; None takes an n-D ``X``'s own shape, or
        ``(n_features,)`` for flat rows."""


class _FeedForward(NeuralEstimator):
    _parameter_constraints = {
        **NeuralEstimator._parameter_constraints,
        "hidden_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }
    _network_class = MLPNetwork

    @classmethod
    def _get_test_params(cls):
        return dict(hidden_sizes=(16,), max_epochs=30, lr=1e-2, batch_size=32)

    def _network_kwargs(self):
        return dict(n_features=self.input_shape_[0], hidden_sizes=tuple(self.hidden_sizes),
                    dropout=self.dropout)

    def _default_input_shape(self, n_features):
        return (n_features,)

    def _check_input_shape(self, shape):
        if len(shape) != 1:
            raise ValueError(
                f"{type(self).__name__} reads flat rows, but the sample shape is {shape}. "
                "Pass X.reshape(len(X), -1), or use CNNClassifier/RNNClassifier for images "
                "and series.")


class _TorchModule(NeuralEstimator):
    _parameter_constraints = {
        **NeuralEstimator._parameter_constraints,
        "module": [None, torch.nn.Module],
    }
    _network_class = ModuleNetwork
    _network_hint = "Check that the module takes samples of input_shape."

    @classmethod
    def _get_test_params(cls):
        return dict(max_epochs=30, lr=5e-2, batch_size=32)

    def _network_kwargs(self):
        module = torch.nn.Flatten() if self.module is None else self.module
        return dict(module=module, input_shape=self.input_shape_)

    def _default_input_shape(self, n_features):
        return (n_features,)

    def _check_input_shape(self, shape):
        pass


_SHARED = dict(max_epochs="auto", lr=1e-3, batch_size="auto")


@fill_doc(**_SHARED, architecture=_FEEDFORWARD_PARAMS)
class FeedForwardClassifier(NeuralClassifierMixin, ClassifierMixin, _FeedForward):
    """Feed-forward (dense) neural network classifier for flat features.

    The package's counterpart of scikit-learn's ``MLPClassifier``, trained
    by the same engine as the CNN and RNN estimators (seeded, warm starts
    exact, ``class_weight``, transfer, freezing), and the network that
    ``MAMLClassifier`` and ``MultiTaskClassifier`` wrap for tabular data.

    Parameters
    ----------
%(architecture)s
%(engine_params)s
%(classifier_params)s
%(transfer_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own, trained with L-BFGS, SGD or Adam.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_mlarch import FeedForwardClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FeedForwardClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        **_FeedForward._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(self, input_shape=None, *, hidden_sizes=(100,), dropout=0.0,
                 max_epochs="auto", batch_size="auto", lr=1e-3, lr_schedule="plateau",
                 optimizer="adam", optimizer_kwargs=None, weight_decay=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, warm_start=False, random_state=None, device="cpu",
                 dtype="float32", verbose=0, callbacks=None, class_weight=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())


@fill_doc(**_SHARED, architecture=_FEEDFORWARD_PARAMS)
class FeedForwardRegressor(NeuralRegressorMixin, RegressorMixin, _FeedForward):
    """Feed-forward (dense) neural network regressor for flat features.

    Targets are standardised inside and predictions mapped back. The
    network that ``MAMLRegressor`` wraps by default (with
    ``hidden_sizes=(40, 40)``, as in the MAML paper).

    Parameters
    ----------
%(architecture)s
%(training_params)s

    Attributes
    ----------
%(fitted_attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import FeedForwardRegressor
    >>> X = np.random.RandomState(0).rand(50, 3)
    >>> FeedForwardRegressor(max_epochs=5, random_state=0).fit(X, X.sum(1)).predict(X[:2]).shape
    (2,)
    """

    def __init__(self, input_shape=None, *, hidden_sizes=(100,), dropout=0.0,
                 max_epochs="auto", batch_size="auto", lr=1e-3, lr_schedule="plateau",
                 optimizer="adam", optimizer_kwargs=None, weight_decay=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, warm_start=False, random_state=None, device="cpu",
                 dtype="float32", verbose=0, callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())


@fill_doc(**_SHARED, architecture=_MODULE_PARAMS)
class TorchModuleClassifier(NeuralClassifierMixin, ClassifierMixin, _TorchModule):
    """Classifier around a torch module of your own (a torchvision backbone, say).

    The module is the trunk; a linear head sized from the classes is
    added. Everything else is the package's: validation, labels of any
    type, seeded training, warm starts, ``freeze`` by block name
    (``'trunk.layer1'`` for a torchvision ResNet's first stage), transfer,
    saving, and the meta-estimators (``MultiTaskClassifier``,
    ``DeepEnsembleClassifier``, ``MAMLClassifier``) on top.

    Parameters
    ----------
%(architecture)s
%(engine_params)s
%(classifier_params)s
%(transfer_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_mlarch import TorchModuleClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> body = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU())
    >>> clf = TorchModuleClassifier(body, max_epochs=2, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        **_TorchModule._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(self, module=None, *, input_shape=None, max_epochs="auto", batch_size="auto",
                 lr=1e-3, lr_schedule="plateau", optimizer="adam", optimizer_kwargs=None,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, warm_start=False, random_state=None,
                 device="cpu", dtype="float32", verbose=0, callbacks=None,
                 class_weight=None, init_from=None, freeze=None, unfreeze_after=None,
                 trunk_lr=None):
        self._store_params(locals())


@fill_doc(**_SHARED, architecture=_MODULE_PARAMS)
class TorchModuleRegressor(NeuralRegressorMixin, RegressorMixin, _TorchModule):
    """Regressor around a torch module of your own; see :class:`TorchModuleClassifier`.

    Parameters
    ----------
%(architecture)s
%(training_params)s

    Attributes
    ----------
%(fitted_attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mlarch import TorchModuleRegressor
    >>> X = np.random.RandomState(0).rand(40, 3)
    >>> TorchModuleRegressor(max_epochs=5, random_state=0).fit(X, X.sum(1)).predict(X[:2]).shape
    (2,)
    """

    def __init__(self, module=None, *, input_shape=None, max_epochs="auto", batch_size="auto",
                 lr=1e-3, lr_schedule="plateau", optimizer="adam", optimizer_kwargs=None,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, warm_start=False, random_state=None,
                 device="cpu", dtype="float32", verbose=0, callbacks=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())
