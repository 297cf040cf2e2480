"""Meta-learning: MAML, first-order MAML and prototypical networks as scikit-learn estimators.

:class:`MAMLRegressor` and :class:`MAMLClassifier` meta-train a network's
initialisation on many small tasks; :class:`PrototypicalClassifier`
meta-trains a network as an embedding in which a new class is its mean.
``adapt(X_support, y_support)`` returns an ordinary fitted estimator for a
new task. :func:`evaluate_adaptation` scores the adaptation over many
sampled tasks with a 95 % interval.
"""

from ._evaluate import evaluate_adaptation
from ._adapted import AdaptedClassifier, AdaptedRegressor, PrototypeClassifier
from ._maml import MAMLClassifier, MAMLRegressor
from ._prototypical import PrototypicalClassifier

__all__ = ["AdaptedClassifier", "AdaptedRegressor", "MAMLClassifier", "MAMLRegressor",
           "PrototypeClassifier", "PrototypicalClassifier", "evaluate_adaptation"]
