"""The estimator base shared by every neural estimator of the package.

:class:`BaseNeuralEstimator` turns scikit-learn data into tensors (validation,
``input_shape``, dtype, sample weights, seeds) and trains a
:class:`~sklearn_mlarch._training.WeightedNeuralNet`. The classifier and
regressor mixins add the target handling. A concrete estimator only says
which network to build (``_build_network``) and how to read its input shape.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping

from ._training import ArrayDataset, DivergenceGuard, HoldoutSplit, WeightedNeuralNet

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but this machine has no usable CUDA device. "
                         "Pass device='auto' (CUDA when available, else CPU) or 'cpu'.")
    return device


class BaseNeuralEstimator(BaseEstimator):
    """Common machinery of the neural estimators; not for direct use.

    Subclasses set ``_network_class`` (a plain torch module taking
    ``n_outputs`` and its sizes) and implement ``_network_kwargs()``,
    ``_default_input_shape(n_features)`` and ``_check_input_shape(shape)``.
    The target mixins implement ``_criterion()``, ``_prepare_targets`` and
    ``_n_outputs``.
    """

    _parameter_constraints = {
        "input_shape": [None, tuple, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"full"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "optimizer_kwargs": [None, dict],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [StrOptions({"cpu", "cuda", "auto"}), torch.device],
        "dtype": [StrOptions(set(_DTYPES))],
        "verbose": ["verbose"],
        "callbacks": [None, list],
    }

    def _store_params(self, params):
        """Store the ``__init__`` arguments as they are (scikit-learn convention).

        Concrete estimators call ``self._store_params(locals())`` so that the
        signature is the single list of their parameters.
        """
        for name, value in params.items():
            if name != "self":
                setattr(self, name, value)

    # ------------------------------------------------------------------ input
    def _as_array(self, X, reset):
        """Hook: turn other inputs (ragged sequence lists) into arrays.

        Returns ``(X, padded)``; ``padded`` says NaN may mark padding.
        """
        return X, False

    def _finalize_input(self, X, padded):
        """Hook: last checks once X has its network shape ``(n, *input_shape_)``."""
        return X

    def _validate_X(self, X, y="no_validation", reset=True):
        """Validate X (and y unless ``"no_validation"``) and shape X for the network."""
        X, padded = self._as_array(X, reset)
        sample_shape = None
        if isinstance(X, np.ndarray) and X.ndim > 2:
            sample_shape = X.shape[1:]
            X = X.reshape(len(X), -1)
        fitting = not (isinstance(y, str) and y == "no_validation")
        kwargs = dict(reset=reset, dtype=(np.float64, np.float32),
                      ensure_min_samples=2 if fitting else 1,
                      ensure_all_finite="allow-nan" if padded else True)
        if fitting:
            X, y = validate_data(self, X, y, multi_output=self._multi_output_y,
                                 y_numeric=self._y_numeric, **kwargs)
        else:
            X = validate_data(self, X, **kwargs)
        if reset:
            self.input_shape_ = self._resolve_input_shape(X.shape[1], sample_shape)
        # C order: torch picks other (differently rounding) kernels for strided input
        X = np.ascontiguousarray(X.reshape(len(X), *self.input_shape_), dtype=self._np_dtype)
        return self._finalize_input(X, padded), y

    def _resolve_input_shape(self, n_features, sample_shape):
        if self.input_shape is not None:
            shape = tuple(int(s) for s in self.input_shape)
            if int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"input_shape={tuple(self.input_shape)} needs {int(np.prod(shape))} "
                    f"features per sample, but X has {n_features}"
                    + (f" (sample shape {sample_shape})" if sample_shape else "")
                    + ". Pass an input_shape whose product is the number of features, "
                    "or input_shape=None to use X's own shape. In BaggingClassifier or "
                    "BaggingRegressor, feature subsampling cannot keep a fixed input shape: "
                    "use max_features=1.0 and bootstrap_features=False.")
        elif sample_shape is not None:
            shape = tuple(int(s) for s in sample_shape)
        else:
            shape = self._default_input_shape(n_features)
        self._check_input_shape(shape)
        return shape

    @property
    def _np_dtype(self):
        return np.dtype(self.dtype)

    # --------------------------------------------------------------- training
    def _make_net(self, n_outputs):
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = _OPTIMIZERS[optimizer]
        opt_kwargs = {"weight_decay": self.weight_decay, **(self.optimizer_kwargs or {})}
        callbacks = [("divergence_guard", DivergenceGuard())]
        train_split = None
        if self.early_stopping:
            train_split = HoldoutSplit(self.validation_fraction,
                                       stratify=self._stratify_validation,
                                       random_state=self._seed_)
            callbacks.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=self.n_iter_no_change, threshold=self.tol,
                threshold_mode="abs", load_best=True,
                sink=print if self.verbose else _silent)))
        callbacks += list(self.callbacks or [])
        return WeightedNeuralNet(
            module=self._network_class,
            module__n_outputs=n_outputs,
            **{f"module__{k}": v for k, v in self._network_kwargs().items()},
            criterion=self._criterion(),
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=-1 if self.batch_size == "full" else self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            predict_nonlinearity=None,
            verbose=self.verbose,
            device=_resolve_device(self.device),
            dtype=_DTYPES[self.dtype],
            **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
        )

    def _next_seed(self, reset):
        """Seed for the next training call.

        With an integer ``random_state`` the seeds are a fixed function of it
        and of the number of epochs already trained, so repeated fits and
        ``partial_fit`` sequences are reproducible.
        """
        if reset:
            self._seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
            return self._seed_
        if isinstance(self.random_state, Integral):
            ss = np.random.SeedSequence([self._seed_, len(self.net_.history)])
            return int(ss.generate_state(1)[0] % (2**31 - 1))
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _train(self, X, y, sample_weight, *, epochs, incremental, classes=None):
        reset = not (incremental and hasattr(self, "net_"))
        X, y = self._validate_X(X, y, reset=reset)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        y = self._prepare_targets(y, reset=reset, classes=classes,
                                  sample_weight=sample_weight)
        seed = self._next_seed(reset)
        sample_weight = self._prepare_sample_weight(sample_weight, y, seed)
        if reset:
            self.net_ = self._make_net(self._n_outputs)
        dataset = ArrayDataset(X, y, sample_weight)
        self.net_.train_epochs(dataset, epochs, seed)
        self.n_iter_ = len(self.net_.history)
        return self

    def _prepare_sample_weight(self, sample_weight, y, seed):
        """Final per-sample weights: ``sample_weight`` times class weights.

        None when all samples weigh the same: the batch loss is then the
        plain mean, which is the weighted mean with equal weights.
        """
        sw = sample_weight * self._class_weights(y)
        if not sw.sum() > 0:
            raise ValueError("sample_weight sums to zero: give at least one sample a "
                             "positive weight.")
        if np.all(sw == sw[0]):
            return None
        return sw.astype(self._np_dtype)

    def _class_weights(self, y):
        return 1.0

    # -------------------------------------------------------------- interface
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network for ``max_epochs`` epochs.

        With ``warm_start=True`` and a fitted estimator, training continues
        from the current weights instead of starting anew.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
            Training data; flat rows are reshaped to ``input_shape``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; the loss of a batch is the weighted mean.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._train(X, y, sample_weight, epochs=self.max_epochs,
                           incremental=self.warm_start)

    def _predict_raw(self, X, embed=False):
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return self.net_.predict_raw(X, embed=embed)

    def transform_features(self, X):
        """Penultimate-layer activations of the fitted network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        features : ndarray of shape (n_samples, n_hidden)
        """
        features = self._predict_raw(X, embed=True)
        # (n, hidden), or (n, members, hidden) for an ensemble: one row per sample
        return features.reshape(len(features), -1)

    @property
    def history_(self):
        """skorch history of the fitted net (one row per epoch)."""
        check_is_fitted(self)
        return self.net_.history

    def __sklearn_is_fitted__(self):
        # fitted means trained: a fit that failed after validating X leaves
        # n_features_in_ behind but no net_
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _silent(*args, **kwargs):
    pass


def softmax(logits, axis):
    """Numerically stable softmax of a float64 array along ``axis``."""
    logits = logits - logits.max(axis=axis, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=axis, keepdims=True)


class NeuralClassifierMixin:
    """Targets of a neural classifier: labels of any type, class weights."""

    _multi_output_y = False
    _y_numeric = False
    _stratify_validation = True

    def _criterion(self):
        return torch.nn.CrossEntropyLoss(reduction="none")

    def _prepare_targets(self, y, reset, classes=None, sample_weight=None):
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in y, "
                    f"got 1 class: {self.classes_[0]!r}.")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={classes!r} differs from the classes of the first "
                             f"partial_fit call {self.classes_!r}.")
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(f"y contains labels {np.unique(y[unseen])!r} that are not in "
                             f"classes_ {self.classes_!r}; pass all labels with `classes` "
                             "on the first partial_fit call.")
        self._n_outputs = len(self.classes_)
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _class_weights(self, y):
        """Per-sample factors from ``class_weight`` (``y`` is label-encoded)."""
        if self.class_weight is None:
            return 1.0
        if isinstance(self.class_weight, str):  # 'balanced'
            return compute_sample_weight("balanced", y)
        unknown = [k for k in self.class_weight if k not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(f"class_weight has labels {unknown} that are not in "
                             f"classes_ {self.classes_.tolist()}.")
        factors = np.ones(len(self.classes_))
        for label, weight in self.class_weight.items():
            factors[np.searchsorted(self.classes_, label)] = weight
        return factors[y]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All labels; needed on the first call when a batch may miss some.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._train(X, y, sample_weight, epochs=1, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities (softmax of the network output).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._predict_raw(X), axis=1)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class NeuralRegressorMixin:
    """Targets of a neural regressor: one or more outputs, standardised inside."""

    _multi_output_y = True
    _y_numeric = True
    _stratify_validation = False

    def _criterion(self):
        return torch.nn.MSELoss(reduction="none")

    def _prepare_targets(self, y, reset, classes=None, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        y2 = y.reshape(len(y), -1)
        if reset:
            self._y_ndim = y.ndim
            # Standardised targets make one learning rate fit any target scale.
            # Weighted statistics keep a weight-k sample equal to k copies.
            self._y_mean = np.average(y2, axis=0, weights=sample_weight)
            scale = np.sqrt(np.average((y2 - self._y_mean) ** 2, axis=0,
                                       weights=sample_weight))
            self._y_scale = np.where(scale > 0, scale, 1.0)
        elif y2.shape[1] != len(self._y_mean):
            raise ValueError(f"y has {y2.shape[1]} outputs but the estimator was fitted "
                             f"with {len(self._y_mean)}.")
        self._n_outputs = y2.shape[1]
        return ((y2 - self._y_mean) / self._y_scale).astype(self._np_dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._train(X, y, sample_weight, epochs=1, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        y = self._predict_raw(X) * self._y_scale + self._y_mean
        return y.ravel() if self._y_ndim == 1 else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
