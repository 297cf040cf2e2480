"""Ensembles of neural estimators.

scikit-learn's own ``BaggingClassifier``, ``AdaBoostClassifier``,
``VotingClassifier`` and ``StackingClassifier`` take the package's
estimators as they are (see the README recipes); this module adds the
deep ensembles :class:`DeepEnsembleClassifier` and
:class:`DeepEnsembleRegressor`, whose members train together in one network.
"""

from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor

__all__ = ["DeepEnsembleClassifier", "DeepEnsembleRegressor"]
