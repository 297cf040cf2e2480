"""A deep ensemble of CNNs trained together as one grouped network."""

from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._training import CrossEntropyObjective
from ..base import NeuralClassifierMixin, softmax
from ..networks import CNNEnsembleNetwork
from ..neural_network._cnn import _CNN_PARAMS, _BaseCNN
from ..neural_network._docs import fill_doc


@fill_doc(max_epochs="auto", lr="1e-3", batch_size="auto", cnn_params=_CNN_PARAMS)
class DeepEnsembleClassifier(NeuralClassifierMixin, ClassifierMixin, _BaseCNN):
    """Deep ensemble of CNN classifiers trained together in one vectorised network.

    ``n_members`` copies of the :class:`~sklearn_mlarch.CNNClassifier`
    architecture, each with its own initialisation and its own bootstrap
    sample of the training data, are computed as one network with grouped
    layers (:class:`~sklearn_mlarch.networks.CNNEnsembleNetwork`), so one
    training loop and one forward pass serve all of them. Predicted
    probabilities are the members' average (Lakshminarayanan et al., 2017,
    "Simple and Scalable Predictive Uncertainty Estimation using Deep
    Ensembles").

    Parameters
    ----------
    n_members : int, default=5
        Number of networks.
    bootstrap : bool, default=True
        Train each member on its own bootstrap sample (multinomial counts used
        as sample weights; a new draw at every ``fit`` and ``partial_fit``
        call). With False all members see the same data and differ only in
        initialisation, shuffling being shared.
%(cnn_params)s
%(training_params)s
%(classifier_params)s

    Attributes
    ----------
%(classifier_attributes)s
%(fitted_attributes)s

    See Also
    --------
    sklearn.ensemble.BaggingClassifier : the same idea with members trained one by one.

    Examples
    --------
    >>> from sklearn_mlarch.datasets import load_digits_images
    >>> from sklearn_mlarch.ensemble import DeepEnsembleClassifier
    >>> X, y = load_digits_images()
    >>> ens = DeepEnsembleClassifier(n_members=3, max_epochs=2, random_state=0)
    >>> ens.fit(X[:200], y[:200]).predict_proba(X[:2]).shape
    (2, 10)
    """

    _parameter_constraints = {
        **_BaseCNN._parameter_constraints,
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "bootstrap": ["boolean"],
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }
    _network_class = CNNEnsembleNetwork
    _reads_variable_length = False

    def __init__(self, input_shape=None, *, n_members=5, bootstrap=True, channels=None,
                 kernel_size=None, pool_size=None, batch_norm=True, dropout=None,
                 hidden_sizes=None, global_pool=None, max_epochs="auto", batch_size="auto",
                 lr=1e-3, lr_schedule="plateau",
                 optimizer="adam", optimizer_kwargs=None, weight_decay=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, warm_start=False, random_state=None, device="cpu",
                 dtype="float32", verbose=0, callbacks=None, class_weight=None,
                 init_from=None, freeze=None, unfreeze_after=None, trunk_lr=None):
        self._store_params(locals())

    def _network_kwargs(self):
        return {**super()._network_kwargs(), "n_members": self.n_members}

    def _objective(self):
        # the output is (n, n_members, n_classes): each member its own weighted mean
        return CrossEntropyObjective(member_axis=True)

    def _prepare_sample_weight(self, sample_weight, y):
        sw = super()._prepare_sample_weight(sample_weight, y)
        n = len(y)
        sw = np.ones(n) if sw is None else sw.astype(np.float64)
        if self.bootstrap:
            # drawn from the estimator's seed and the data size: the same draw
            # for every call on the same data, so k epochs then m more equal
            # k + m epochs
            rng = np.random.default_rng([self._seed_, n])
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=self.n_members).T
        else:
            counts = np.ones((n, self.n_members))
        return (sw[:, None] * counts).astype(self._np_dtype)

    def predict_proba(self, X):
        """Average of the members' class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self.predict_member_proba(X).mean(axis=1)

    def predict_member_proba(self, X):
        """Class probabilities of every member.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_members, n_classes)
        """
        return softmax(self._predict_raw(X), axis=2)
