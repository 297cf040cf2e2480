"""The estimator base shared by every neural estimator of the package.

A neural estimator is three objects put together:

- an input reader (:class:`~sklearn_mlarch._input.InputReader`, the
  architecture's own estimator class) that shapes ``X`` and defines the
  network (``_network()``);
- a target handler (:mod:`sklearn_mlarch._targets`) that encodes ``y``,
  chooses the loss and decodes predictions;
- an :class:`~sklearn_mlarch._engine.EngineConfig` of training settings.

:meth:`BaseNeuralEstimator._train` is the one training path: ``fit``,
``partial_fit`` and warm starts of every estimator, the multi-task, MAML and
deep-ensemble meta-estimators included, go through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._engine import APPLIED_ON_WARM_START, EngineConfig, auto_batch_size, build_net, continue_net
from ._fitting import _exclusive_fit, _restore_on_error, check_unchanged, setup_signature
from ._targets import targets_from_state, targets_state
from ._training.stream import IterableSource, is_streamed, source_of, with_labels

#: rows of an IterableDataset held at once in prediction
ITERABLE_BLOCK = 4096

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from .utils._summary import ModelSummary


class BaseNeuralEstimator(BaseEstimator):
    """Common machinery of the neural estimators; not for direct use.

    Hooks, each with one job:

    - ``_reader()``: the estimator that reads ``X`` and defines the network
      (itself for a base estimator, the wrapped one for a meta-estimator);
    - ``_engine_config()``: the training settings;
    - ``_new_targets()``: a fresh target handler;
    - ``_network()``: ``(module class, kwargs)`` of the network body.

    A fit validates the data, builds a seeded network (or copies the fitted
    one to continue), trains it, and only then stores it: a fit that raises
    leaves the estimator as it was.
    """

    # HyperbandSearchCV: warm_start with max_epochs=m trains exactly m more
    # epochs, the same as training k + m at once
    _continuations = {"max_epochs": "resume"}
    _warm_start_param = "warm_start"
    _applied_on_warm_start = APPLIED_ON_WARM_START
    _network_hint = "Check the architecture parameters."

    def _store_params(self, params):
        """Store the ``__init__`` arguments as they are (scikit-learn convention)."""
        for name, value in params.items():
            if name != "self":
                setattr(self, name, value)

    # ------------------------------------------------------------------ hooks
    def _reader(self):
        return self

    def _engine_config(self):
        return EngineConfig.from_params(self.get_params(deep=False))

    def _network(self):
        return self._network_class, self._network_kwargs()

    def _validate_input(self, X, y="no_validation", reset=True, targets=None):
        return self._reader()._read_input(X, y, reset=reset, targets=targets)

    def _init_hook(self, config, targets):
        """A callable applied to the freshly initialised module, or None: the
        one place where transfer learning (``init_from``) loads weights."""
        if config.init_from is None:
            return None
        from ._transfer import LoadWeights, source_state

        return LoadWeights(*source_state(config.init_from), target_classes=targets.head_classes(),
                           frozen=config.freeze_patterns())

    def _setup_signature(self):
        return setup_signature(self)

    def _new_net(self, config, targets, init_hook=None):
        module, kwargs = targets.network(*self._network())
        return build_net(config, module, kwargs, targets.objective(), seed=self._seed_,
                         init_hook=init_hook or self._init_hook(config, targets),
                         stratify=targets.stratify, owner=type(self).__name__,
                         network_hint=self._network_hint)

    # --------------------------------------------------------------- training
    def _train(self, X, y, sample_weight, *, incremental, epochs=None, classes=None,
               partial=False, **data):
        """The one training path: validate, encode, build or continue, train, store.

        ``partial`` says partial_fit called it; ``data`` is what else a fit
        reads (MAML's ``groups``), for ``_dataset``.
        """
        config = self._engine_config()
        with _exclusive_fit(self), _restore_on_error(self):
            continuing = incremental and hasattr(self, "net_")
            targets = self.targets_ if continuing else self._new_targets()
            targets.read_columns(y, reset=not continuing)
            X, y = self._validate_input(X, y, reset=not continuing, targets=targets)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                     ensure_non_negative=True)
            if continuing:
                codes = targets.encode(y, classes=classes)
            else:
                codes = targets.fit(y, sample_weight=sample_weight, classes=classes)
                self._seed_ = int(check_random_state(config.random_state).randint(2**31 - 1))
            codes = _cast_targets(codes, config.np_dtype)
            weights = targets.sample_weight(sample_weight, codes, config.np_dtype,
                                            seed=self._seed_)
            if continuing:
                warm = self._warm_start_param
                how, fix = (("partial_fit", f"Call fit with {warm}=False") if partial else
                            (f"{warm}=True", f"Set {warm}=False"))
                check_unchanged(self._setup_signature_, self._setup_signature(), how, fix)
                net = continue_net(self.net_, config)
            else:
                net = self._new_net(config, targets)
                self._setup_signature_ = self._setup_signature()
            dataset, epochs = self._dataset(targets, net, config, X, codes, weights,
                                            epochs, continuing, **data)
            trained_before = len(net.history)
            net.train_epochs(dataset, epochs, augment=config.augment,
                             sample_shape=getattr(self._reader(), "input_shape_", None))
            # counted on, not read from the history, which load_model starts anew
            self.n_iter_ = (self.n_iter_ if continuing else 0) + len(net.history) - trained_before
            self.net_, self.targets_ = net, targets
            self._fitted(targets, X, y)
        return self

    def _dataset(self, targets, net, config, X, codes, weights, epochs, continuing):
        """``(dataset, epochs)`` of this fit: the encoded arrays, ``max_epochs`` of them."""
        if net.batch_size == "auto":
            net.batch_size = auto_batch_size(len(X))
        epochs = config.max_epochs if epochs is None else epochs
        if epochs == "auto":
            epochs = config.auto_epochs(len(X), net.batch_size)
        return targets.dataset(X, codes, weights, epochs, seed=self._seed_)

    def _fitted(self, targets, X, y):
        """Hook: public fitted attributes, once trained (``classes_``, say)."""

    # -------------------------------------------------------------- interface
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike | None = None,
            sample_weight: ArrayLike | None = None) -> Self:
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
            Per-sample weights, relative to each other: the loss trained is the
            weighted mean over the samples of this call (each batch's loss is
            an unbiased estimate of it), so only their ratios matter.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._train(X, y, sample_weight, incremental=self._engine_config().warm_start)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: ArrayLike, y: ArrayLike | None = None,
                    classes: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> Self:
        """Train exactly one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        classes : array-like, default=None
            Classifiers: all labels (a list per task for a multi-task model),
            needed on the first call when a batch may miss some. Regressors
            take none.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, relative to the other samples of this call
            (as in ``fit``): weights 100 on every sample of a call train
            as weights 1 do.

        Returns
        -------
        self : object
        """
        if self._engine_config().early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True (as in MLPClassifier): one "
                "epoch has no patience to wait out. Use fit with early_stopping=True, or "
                "set early_stopping=False.")
        return self._train(X, y, sample_weight, epochs=1, incremental=True, classes=classes,
                           partial=True)

    def _predict_raw(self, X, embed=False):
        check_is_fitted(self)
        if is_streamed(X) and isinstance(source_of(X), IterableSource):
            # read once, in order: blocks in memory, each predicted as an array is
            parts = [self._predict_raw(block, embed) for block, _ in
                     source_of(X).chunks(ITERABLE_BLOCK)]
            if not parts:
                raise ValueError("X, an IterableDataset, yielded no samples.")
            if isinstance(parts[0], tuple):
                return tuple(np.concatenate(p) for p in zip(*parts))
            return np.concatenate(parts)
        X, _ = self._validate_input(X, reset=False)
        # the network keeps the dtype it was built with, whatever dtype says now
        X = X.astype(torch.empty((), dtype=self.net_.dtype).numpy().dtype, copy=False)
        return self.net_.predict_raw(X, embed=embed)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions of the network: classes, or target values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        output = self._predict_raw(X)
        return self.targets_.decode(output)

    def transform_features(self, X: ArrayLike) -> np.ndarray:
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

    # ------------------------------------------------------------ persistence
    def _get_fitted_state(self):
        """Fitted attributes for :func:`~sklearn_mlarch.save_model` (see its protocol)."""
        from .persistence import default_fitted_state

        state = default_fitted_state(self)
        state["targets_"] = targets_state(self.targets_)
        if "estimator_" in state:  # a meta-estimator's input reader
            state["estimator_"] = default_fitted_state(self.estimator_)
        return state

    def _restore_fitted_state(self, fitted, weights):
        """Rebuild the fitted estimator from :meth:`_get_fitted_state` and the weights."""
        from .persistence import weights_loader

        fitted = dict(fitted)
        targets = targets_from_state(fitted.pop("targets_"))
        reader = fitted.pop("estimator_", None)
        for name, value in fitted.items():
            setattr(self, name, value)
        if reader is not None:
            self.estimator_ = clone(self._base())
            for name, value in reader.items():
                setattr(self.estimator_, name, value)
        self.targets_ = targets
        self.net_ = self._new_net(self._engine_config(), targets,
                                  init_hook=weights_loader(weights))
        self._setup_signature_ = self._setup_signature()

    @property
    def history_(self):
        """skorch history of the fitted net (one row per epoch)."""
        check_is_fitted(self)
        return self.net_.history

    # ---------------------------------------------------------------- summary
    def summary(self, depth: int = 2) -> ModelSummary:
        """Summarise the fitted network: blocks, output shapes, parameters, freezing.

        As Keras' ``model.summary()``: one row per block of the network, by
        the name ``freeze`` takes (``trunk.conv0``, ``head``), with its
        output shape on a dummy batch of the fitted sample shape
        (``input_shape_``; ``N`` is the batch size), its parameters, how
        many of them train, and whether it is frozen. The batch runs in
        evaluation mode without gradients; the network's mode and weights
        are left as they were. A meta-estimator summarises the network it
        trains (the wrapped estimator's, with its heads or members).

        Parameters
        ----------
        depth : int, default=2
            Nesting depth of the blocks listed: 1 lists ``trunk`` and
            ``head``, 2 the blocks of the trunk too (``trunk.conv0``).

        Returns
        -------
        summary : ModelSummary
            Its ``str()`` is a plain-text table (printed at the prompt), its
            HTML form a table notebooks show; ``rows``, ``total_params`` and
            ``trainable_params`` hold the numbers.

        Raises
        ------
        NotFittedError
            When the estimator is not fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_mlarch import CNNClassifier
        >>> X = np.random.RandomState(0).rand(40, 1, 8, 8)
        >>> y = np.arange(40) % 2
        >>> clf = CNNClassifier(channels=(4,), hidden_sizes=(8,), max_epochs=1,
        ...                     freeze="trunk.conv0", random_state=0).fit(X, y)
        >>> print(clf.summary())
        CNNClassifier: CNNNetwork
        Input shape: (1, 8, 8), output shape: (N, 2) (N: the batch size)
        ==================================================================
        Block          Type        Output shape  Params  Trainable  Frozen
        ------------------------------------------------------------------
        trunk.conv0    Sequential  (N, 4, 4, 4)      44          0  yes
        trunk.flatten  Flatten     (N, 64)            0          0
        trunk.dense0   Sequential  (N, 8)           520        520
        head           Linear      (N, 2)            18         18
        ==================================================================
        Total params: 582
        Trainable params: 538
        Frozen params: 44
        """
        from .utils._summary import model_summary

        return model_summary(self, depth=depth)

    def _with_summary(self, html: str) -> str:
        """``html`` (scikit-learn's diagram) and, when fitted, the network's summary."""
        if not self.__sklearn_is_fitted__():
            return html
        try:
            table = self.summary()._repr_html_()
        except Exception:  # a repr never raises: the diagram alone
            return html
        return (f"{html}<details style='margin-top:0.5em'><summary>Network summary"
                f"</summary>{table}</details>")

    def _repr_html_inner(self):
        return self._with_summary(super()._repr_html_inner())

    def _repr_mimebundle_(self, **kwargs):
        output = super()._repr_mimebundle_(**kwargs)
        if "text/html" in output:
            output["text/html"] = self._with_summary(output["text/html"])
        return output

    def __sklearn_is_fitted__(self):
        # fitted means trained: a fit that failed after validating X leaves
        # n_features_in_ behind but no net_
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _cast_targets(codes, dtype):
    """Encoded targets in the training dtype (class codes stay int64)."""
    if codes is None or codes.dtype.kind in "iu":
        return codes
    cast = codes.astype(dtype)
    if not np.isfinite(cast[~np.isnan(codes)]).all():
        raise ValueError(f"y has values that overflow {dtype.name} once standardised. "
                         "Rescale y, or pass dtype='float64'.")
    return cast


class ScoresStreams:
    """``score(X)`` of a torch Dataset (or a stream of ``(x, y)``) with its own labels."""

    def score(self, X: ArrayLike, y: ArrayLike | None = None,
              sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy (classifiers) or R² (regressors) on ``X``.

        As scikit-learn's ``score``; ``y`` may be left out when ``X`` is a
        torch ``Dataset`` yielding ``(x, y)``: its labels are used.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            True targets; None: the labels of a torch Dataset X.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        if y is None and is_streamed(X):
            X, y = with_labels(X)
        return super().score(X, y, sample_weight=sample_weight)
