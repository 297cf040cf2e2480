"""Dense blocks shared by every network: the hidden layers after a trunk."""

from torch import nn


class MLPHead(nn.Sequential):
    """Hidden dense layers ``Linear -> ReLU -> Dropout`` repeated.

    Parameters
    ----------
    in_features : int
        Size of the input vector.
    hidden_sizes : sequence of int
        Width of each hidden layer; empty for none (the block is then the
        identity).
    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    Attributes
    ----------
    out_features : int
        Size of the output vector.
    """

    def __init__(self, in_features, hidden_sizes=(), dropout=0.0):
        layers = []
        for width in hidden_sizes:
            layers += [nn.Linear(in_features, int(width)), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_features = int(width)
        super().__init__(*layers)
        self.out_features = in_features
