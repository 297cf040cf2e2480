"""Meta-learning: MAML and first-order MAML as scikit-learn estimators.

:class:`MAMLRegressor` and :class:`MAMLClassifier` meta-train a network's
initialisation on many small tasks; ``adapt(X_support, y_support)`` returns
an ordinary fitted estimator for a new task. :func:`evaluate_adaptation`
scores the adaptation over many sampled tasks with a 95 % interval.
"""

from ._evaluate import evaluate_adaptation
from ._adapted import AdaptedClassifier, AdaptedRegressor
from ._maml import MAMLClassifier, MAMLRegressor

__all__ = ["AdaptedClassifier", "AdaptedRegressor", "MAMLClassifier", "MAMLRegressor",
           "evaluate_adaptation"]
