"""Prototypical networks as a scikit-learn meta-estimator: :class:`PrototypicalClassifier`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from .._training.prototypes import build_prototypical_module
from ..base import ScoresStreams
from ._adapted import PrototypeClassifier, class_prototypes, prototype_logits
from ._episodic import EARLY_STOPPING_PARAMS, EpisodeTargets, _BaseEpisodic, _EpisodeClassifier

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self


class PrototypicalClassifier(ScoresStreams, ClassifierMixin, _EpisodeClassifier,
                             _BaseEpisodic):
    __doc__ = """Prototypical networks for few-shot classification.

    Meta-trains the wrapped estimator's network body (its trunk) as an
    embedding on N-way K-shot episodes drawn from the classes of ``y``:
    each query row is classified by the softmax of its negative squared
    Euclidean distances to the mean embeddings (prototypes) of the
    episode's classes (Snell, Swersky and Zemel, NeurIPS 2017). A new task
    needs no gradient step: :meth:`adapt` embeds a few labelled rows of
    each new class, any number of classes, and returns a fitted classifier.

    Parameters
    ----------
    estimator : estimator object, default=None
        The base estimator whose network body becomes the embedding and
        which reads ``X``: ``FeedForwardClassifier``, ``CNNClassifier``,
        ``RNNClassifier`` or ``TorchModuleClassifier`` (its head is not
        used). None: ``FeedForwardClassifier(hidden_sizes=(40, 40))``. Its
        ``lr``, ``optimizer``, ``optimizer_kwargs``, ``weight_decay``,
        ``warm_start``, ``device``, ``dtype``, ``verbose``, ``callbacks``
        (an epoch is 100 meta-iterations), ``freeze`` and ``init_from``
        are used; ``max_epochs``, ``batch_size`` and ``lr_schedule`` are
        not (``n_meta_iter``, ``meta_batch_size``); its own early stopping
        and ``class_weight`` are refused. Batch norm trains on each
        meta-batch's statistics and embeds with its running ones.
    n_way : int, default=None
        Classes per training episode; None takes all the classes of ``y``.
        Snell et al. train with more ways than they test with (60-way for
        Omniglot); the prototypes classify any number of classes.
    k_shot : int, default=5
        Support rows per class in meta-training episodes.
    n_query : int, default=5
        Query rows per class scored in meta-training; capped at what the
        smallest class leaves after its support rows.
    meta_batch_size : int, default=1
        Episodes per meta-iteration (one, as in the paper).
    n_meta_iter : int, default=1000
        Meta-iterations trained by ``fit`` (with ``warm_start``, this many
        more). The history has one row per 100 meta-iterations.
%(early)s
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and episode sampling; None uses the wrapped
        estimator's ``random_state``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels of the training classes.
    n_way_ : int
        Classes per training episode.
    n_features_in_ : int
        Number of features of one sample.
    input_shape_ : tuple of int
        Shape of one sample as given to the network.
    net_ : skorch.NeuralNet
        The trained engine; ``net_.module_.network.embed`` is the embedding.
    n_meta_iter_ : int
        Meta-iterations trained in total.
    n_iter_ : int
        Engine epochs (of up to 100 meta-iterations) trained in total.
    training_task_ : PrototypeClassifier
        Prototypes of the training classes, which ``predict`` uses.

    See Also
    --------
    MAMLClassifier : meta-learns an initialisation that a few gradient
        steps adapt.
    evaluate_adaptation : mean accuracy and 95 %% interval over many new tasks.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_mlarch import PrototypicalClassifier
    >>> from sklearn_mlarch.datasets import split_classes
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_new, y_train, y_new = split_classes(X / 16, y, test_classes=[7, 8, 9])
    >>> proto = PrototypicalClassifier(n_way=5, k_shot=1, n_meta_iter=20, random_state=0)
    >>> model = proto.fit(X_train, y_train).adapt(X_new[:30], y_new[:30])
    >>> model.classes_.tolist()
    [7, 8, 9]
    """ % dict(early=EARLY_STOPPING_PARAMS)

    _parameter_constraints = {
        **_BaseEpisodic._parameter_constraints,
        **_EpisodeClassifier._episode_constraints,
    }
    _test_params = dict(n_meta_iter=40, k_shot=2, n_query=2, meta_batch_size=4)

    def __init__(self, estimator=None, *, n_way=None, k_shot=5, n_query=5, meta_batch_size=1,
                 n_meta_iter=1000, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, random_state=None):
        self._store_params(locals())

    def _new_targets(self):
        return EpisodeTargets(True, self.n_way, owner=type(self).__name__)

    def _module(self, network, kwargs, targets):
        return build_prototypical_module, dict(network=network, network_kwargs=kwargs,
                                               n_classes=targets.n_outputs)

    def _adapted_type(self):
        return PrototypeClassifier

    def _adapt_steps(self):
        return 0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike, *, X_val: ArrayLike | None = None,
            y_val: ArrayLike | None = None) -> Self:
        """Meta-train the embedding on N-way K-shot episodes of the classes of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : array-like of shape (n_samples,)
            Labels of any type; each class needs at least ``k_shot + 1`` rows.
        X_val : array-like of shape (n_val_samples, ...), default=None
            Meta-validation rows for ``early_stopping`` (other classes than
            ``y``'s); None holds out ``validation_fraction`` of the classes.
        y_val : array-like of shape (n_val_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._meta_fit(X, y, validation=(X_val, y_val))

    def adapt(self, X: ArrayLike, y: ArrayLike, steps: int | None = None,
              ) -> PrototypeClassifier:
        """A classifier of new classes: their prototypes in the learned embedding.

        Parameters
        ----------
        X : array-like of shape (n_support, n_features) or (n_support, *input_shape)
            A few labelled rows of each new class (the support set).
        y : array-like of shape (n_support,)
            Labels of any type; any number of classes.
        steps : None
            Prototypes take no gradient steps (the argument is for a common
            interface with :meth:`MAMLClassifier.adapt`).

        Returns
        -------
        model : PrototypeClassifier
            Fitted; ``predict``, ``predict_proba`` and ``score`` work as for
            any classifier.
        """
        check_is_fitted(self)
        return PrototypeClassifier(self, steps=steps).fit(X, y)

    def _task_scores(self, Xs, ys, Xq, yq, steps):
        """Accuracy on a task's query set with the prototypes of its support set."""
        if list(steps) != [0]:
            raise ValueError(f"steps={steps!r}: prototypes take no gradient steps. Pass "
                             "steps=None.")
        prototypes = class_prototypes(self._embed(Xs), ys, int(ys.max()) + 1)
        logits = prototype_logits(self._embed(Xq), prototypes)
        return [float(np.mean(logits.argmax(axis=1) == yq))]
