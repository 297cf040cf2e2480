"""Named building blocks shared by the networks.

Blocks carry names (``conv0``, ``dense0``) rather than Sequential indices so
that freezing, per-block learning rates and weight transfer can name them:
``trunk.conv0.conv.weight``, ``trunk.dense1.linear.bias``, ``head.weight``.
"""

from collections import OrderedDict
from numbers import Integral

from torch import nn

from .random import Dropout


def positive_ints(value, name, n=None):
    """``value`` (an int or a sequence of ints) as a tuple of positive ints.

    Raises a ValueError naming ``name`` for anything else: zero, negative,
    fractional or boolean entries, an empty sequence, or a sequence of the
    wrong length.
    """
    values = (value,) * (n or 1) if isinstance(value, Integral) else tuple(value)
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, Integral) or v < 1]
    if bad:
        raise ValueError(f"{name} must hold positive integers, got {value!r} "
                         f"(bad entries: {bad}).")
    if not values:
        raise ValueError(f"{name} must hold at least one positive integer, got {value!r}.")
    if n is not None and len(values) != n:
        raise ValueError(f"{name} must be one int or {n} ints (one per block), got {value!r}.")
    return tuple(int(v) for v in values)


def dense_blocks(in_features, hidden_sizes, dropout=0.0):
    """Named ``Linear -> ReLU -> [Dropout]`` blocks; returns ``(blocks, out_features)``."""
    blocks = []
    for i, width in enumerate(positive_ints(hidden_sizes, "hidden_sizes")
                              if len(hidden_sizes) else ()):
        layers = [("linear", nn.Linear(in_features, width)), ("act", nn.ReLU())]
        if dropout > 0:
            layers.append(("dropout", Dropout(dropout)))
        blocks.append((f"dense{i}", nn.Sequential(OrderedDict(layers))))
        in_features = width
    return blocks, in_features


class MLPNetwork(nn.Module):
    """Dense network: a trunk of hidden blocks ``dense0, dense1, ...`` and a linear head.

    Parameters
    ----------
    n_features : int
        Size of the input vector.
    n_outputs : int
        Size of the output.
    hidden_sizes : sequence of int, default=(64,)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> net = MLPNetwork(4, n_outputs=2, hidden_sizes=(8, 8))
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    >>> [name for name, _ in net.trunk.named_children()]
    ['dense0', 'dense1']
    """

    def __init__(self, n_features, n_outputs, hidden_sizes=(64,), dropout=0.0):
        super().__init__()
        blocks, width = dense_blocks(int(n_features), hidden_sizes, dropout)
        self.trunk = nn.Sequential(OrderedDict(blocks))
        self.out_features = width
        self.head = nn.Linear(width, n_outputs)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        return self.trunk(x)

    def forward(self, x):
        return self.head(self.trunk(x))
