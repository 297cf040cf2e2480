"""What a network learns: target handlers shared by every estimator.

A target handler turns ``y`` into the tensors the engine trains on and the
network's output back into predictions. It owns everything about the
targets and nothing about the input or the network's body:

- ``check(y)``: validation of the raw ``y`` (types, shape, missing values);
- ``fit(y, sample_weight, classes)`` on the first call, then ``encode(y)``:
  the encoded targets (label codes, standardised values);
- ``n_outputs``, ``objective()`` and ``network(module, kwargs)``: the output
  layer's size, the loss, and how the estimator's network is wrapped
  (multi-task heads, an ensemble of members);
- ``sample_weight(sample_weight, codes, dtype)``: the final per-sample
  weights (class weights included);
- ``decode(output)`` (and ``proba(output)`` for classes): predictions.

:class:`ClassTargets` and :class:`RegressionTargets` serve the base
estimators; :class:`~sklearn_mlarch.neural_network._multitask_targets.MultiTaskTargets`
builds one of them per task, and the deep ensemble wraps one.
"""

from numbers import Real

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets

from ._training import ArrayDataset, CrossEntropyObjective, SquaredErrorObjective


def softmax(logits, axis):
    """Numerically stable softmax of a float64 array along ``axis``."""
    logits = logits - logits.max(axis=axis, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=axis, keepdims=True)


def target_scaling(y2, sample_weight, what):
    """Weighted mean and scale of each column of ``y2`` for standardised targets.

    Standardised targets make one learning rate fit any target scale;
    weighted statistics keep a weight-k sample equal to k copies. Raises,
    naming ``what``, when they overflow or vanish in float64.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.average(y2, axis=0, weights=sample_weight)
        scale = np.sqrt(np.average((y2 - mean) ** 2, axis=0, weights=sample_weight))
    spread = np.ptp(y2, axis=0)
    bad = ~np.isfinite(mean) | ~np.isfinite(scale) | ((scale == 0) & (spread > 0))
    if bad.any():
        raise ValueError(
            f"{what} cannot be standardised in float64 (values from {y2.min():.3g} to "
            f"{y2.max():.3g}: their mean or spread overflows or vanishes). Rescale "
            f"{what}, e.g. divide by a power of 10, or use TransformedTargetRegressor.")
    return mean, np.where(scale > 0, scale, 1.0)


def standardise(y2, mean, scale, dtype, what):
    """``(y2 - mean) / scale``, raising (naming ``what``) when it overflows ``dtype``."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (y2 - mean) / scale
    if z.size and (not np.isfinite(z).all() or np.abs(z).max() > np.finfo(dtype).max):
        raise ValueError(
            f"{what} has values up to {np.abs(y2).max():.3g}, which overflow once standardised "
            "with the scale of the first fit. Rescale it consistently across calls.")
    return z


def normalise_weights(sw, dtype, what="sample_weight"):
    """Per-sample weights scaled to a mean of 1, or None when all are equal.

    Equal weights train as the plain mean. Otherwise each batch's loss, the
    mean of weight times loss, is an unbiased estimate of the whole training
    set's weighted mean loss.
    """
    if not sw.sum() > 0:
        raise ValueError(f"{what} sums to zero: give at least one sample a positive weight.")
    if np.all(sw == sw.flat[0]):
        return None
    sw = sw / sw.max()  # first by the largest, so that no sum overflows
    smallest = sw[sw > 0].min()  # relative to the largest
    sw = sw / sw.mean()
    cast = sw.astype(dtype)
    if np.any((sw > 0) & (cast == 0)):
        raise ValueError(
            f"{what} (times class_weight) spans more than {np.dtype(dtype).name} can hold: "
            f"the smallest positive weight is {smallest:.3g} times the largest and would "
            "become 0. Clip the weights or pass dtype='float64'.")
    return cast


_HANDLERS = {}


def targets_state(targets):
    """A fitted target handler as plain values (for :func:`~sklearn_mlarch.save_model`)."""
    def plain(value):
        if isinstance(value, Targets):
            return {"__targets__": type(value).__name__,
                    "attrs": {k: plain(v) for k, v in vars(value).items()}}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(targets)


def targets_from_state(state):
    """The fitted target handler that :func:`targets_state` described."""
    if isinstance(state, list):
        return [targets_from_state(v) for v in state]
    if not (isinstance(state, dict) and "__targets__" in state):
        return state
    cls = _HANDLERS.get(state["__targets__"])
    if cls is None:
        raise ValueError(f"config.json names an unknown target handler {state['__targets__']!r}.")
    targets = cls.__new__(cls)
    for name, value in state["attrs"].items():
        setattr(targets, name, targets_from_state(value))
    return targets


class Targets:
    """Interface of a target handler (see the module docs); plain supervision."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _HANDLERS[cls.__name__] = cls

    multi_output = False
    numeric = False
    allow_missing = False
    stratify = False

    def network(self, module, kwargs):
        """``(module, kwargs)`` of the trained network, given the estimator's own."""
        return module, {**kwargs, "n_outputs": self.n_outputs}

    def read_columns(self, y, reset):
        """Remember (first fit) or check (later calls) what only the raw ``y`` tells."""

    def head_classes(self):
        """The classes of each output head (for transfer), or None for regression."""
        return None

    def dataset(self, X, codes, weights, epochs, seed):
        """``(dataset, epochs)`` the engine trains on."""
        return ArrayDataset(X, codes, weights), epochs

    def sample_weight(self, sw, codes, dtype, seed=0):
        """Final per-sample weights (``sw`` None: all equal; ``seed``: the fit's,
        for random weights), or None when all samples weigh the same."""
        sw = np.ones(len(codes)) if sw is None else sw
        return normalise_weights(sw * self.weights(codes), dtype)

    def weights(self, codes):
        return 1.0

    def check_refit(self, classes):
        """Raise when ``classes`` is given to a handler that takes none."""
        if classes is not None:
            raise ValueError("classes is a parameter of classifiers' partial_fit; a "
                             "regressor takes no classes.")


class ClassTargets(Targets):
    """Labels of any type, encoded as ``0..n_classes-1``; class weights.

    Parameters
    ----------
    class_weight : dict, 'balanced' or None
        Weights of the classes, as in scikit-learn's classifiers.
    name : str
        How messages name the targets (``y``, or a task of a multi-task model).
    """

    stratify = True

    def __init__(self, class_weight=None, name="y", owner="The estimator"):
        self.class_weight = class_weight
        self.name = name
        self.owner = owner

    def fit(self, y, sample_weight=None, classes=None):
        check_classification_targets(y)
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        if len(self.classes_) < 2:
            only = self.classes_[0]
            only = only.item() if isinstance(only, np.generic) else only
            raise ValueError(f"{self.name} has samples of only 1 class ({only!r}); "
                             f"{self.owner} needs at least 2 classes.")
        return self.encode(y)

    def encode(self, y, classes=None):
        check_classification_targets(y)
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()!r} for {self.name} "
                             f"differs from the classes of the first call "
                             f"{self.classes_.tolist()!r}.")
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(f"{self.name} contains labels {np.unique(y[unseen])!r} that are "
                             f"not in classes_ {self.classes_!r}; pass all labels with "
                             "`classes` on the first partial_fit call.")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def check_refit(self, classes):
        pass

    def head_classes(self):
        return [self.classes_]

    @property
    def n_outputs(self):
        return len(self.classes_)

    def objective(self):
        return CrossEntropyObjective()

    def weights(self, codes):
        """Per-sample factors from ``class_weight`` (``codes`` label-encoded)."""
        cw = self.class_weight
        if cw is None:
            return 1.0
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight={cw!r}: pass 'balanced', a dict or None.")
            return compute_sample_weight("balanced", codes)
        if not isinstance(cw, dict):
            raise ValueError(f"class_weight for {self.name} must be a dict, 'balanced' or "
                             f"None, got {cw!r}.")
        known = set(self.classes_.tolist())
        unknown = [k for k in cw if k not in known]
        if unknown:
            raise ValueError(f"class_weight has labels {unknown} that are not in the "
                             f"classes {self.classes_.tolist()} of {self.name}.")
        bad = {k: v for k, v in cw.items()
               if isinstance(v, bool) or not isinstance(v, Real) or not np.isfinite(v) or v < 0}
        if bad:
            raise ValueError(f"class_weight values must be finite and non-negative, got {bad}. "
                             "Give each class a weight >= 0.")
        factors = np.ones(len(self.classes_))
        for label, weight in cw.items():
            factors[np.searchsorted(self.classes_, label)] = weight
        return factors[codes]

    def proba(self, output):
        return softmax(output, axis=-1)

    def decode(self, output):
        return self.classes_[output.argmax(axis=-1)]


class RegressionTargets(Targets):
    """One or more numeric outputs, standardised with (weighted) statistics of the first fit."""

    multi_output = True
    numeric = True

    def __init__(self, name="y"):
        self.name = name

    def fit(self, y, sample_weight=None, classes=None):
        self.check_refit(classes)
        y = np.asarray(y, dtype=np.float64)
        self.ndim_ = y.ndim
        self.mean_, self.scale_ = target_scaling(y.reshape(len(y), -1), sample_weight, self.name)
        return self.encode(y)

    def encode(self, y, classes=None):
        self.check_refit(classes)
        y = np.asarray(y, dtype=np.float64)
        y2 = y.reshape(len(y), -1)
        if y2.shape[1] != len(self.mean_):
            raise ValueError(f"{self.name} has {y2.shape[1]} outputs but the estimator was "
                             f"fitted with {len(self.mean_)}.")
        return standardise(y2, self.mean_, self.scale_, np.float64, self.name)

    @property
    def n_outputs(self):
        return len(self.mean_)

    def objective(self):
        return SquaredErrorObjective()

    def decode(self, output):
        y = output * self.scale_ + self.mean_
        return y.reshape(len(y), -1)[:, 0] if self.ndim_ == 1 else y
