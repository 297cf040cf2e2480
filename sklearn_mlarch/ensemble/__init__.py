"""Ensembles of neural estimators.

scikit-learn's own ``BaggingClassifier``, ``AdaBoostClassifier``,
``VotingClassifier`` and ``StackingClassifier`` take the package's
estimators as they are (see the README recipes); this module adds the
vectorised :class:`DeepEnsembleClassifier`.
"""

from ._deep_ensemble import DeepEnsembleClassifier

__all__ = ["DeepEnsembleClassifier"]
