"""Plain PyTorch networks.

These modules know nothing of scikit-learn: every one of them is an ordinary
``torch.nn.Module`` whose constructor takes its sizes explicitly. The
estimators in :mod:`sklearn_mlarch.neural_network` size them from the data at
fit time. Every network splits into a ``trunk`` (the feature extractor, whose
output is the penultimate layer) and a ``head`` (the final linear layer), so
that features can be reused, trunks shared between task heads, and weights
transferred between estimators.
"""

from .blocks import MLPNetwork
from .cnn import CNNNetwork
from .cnn_ensemble import CNNEnsembleNetwork
from .ensemble import MemberEnsemble, StackedEnsemble, ensemble_network
from .module import ModuleNetwork
from .multitask import MultiTaskNetwork
from .random import Dropout, use_generator
from .rnn import RNNNetwork
from .scaled import SeriesScaled
from .series import InceptionNetwork, ResNetNetwork
from .series_ensemble import InceptionEnsembleNetwork, ResNetEnsembleNetwork

__all__ = ["CNNEnsembleNetwork", "CNNNetwork", "Dropout", "InceptionEnsembleNetwork",
           "InceptionNetwork", "MLPNetwork", "MemberEnsemble", "ModuleNetwork",
           "MultiTaskNetwork", "RNNNetwork", "ResNetEnsembleNetwork", "ResNetNetwork",
           "SeriesScaled", "StackedEnsemble", "ensemble_network", "use_generator"]
