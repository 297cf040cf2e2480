"""M convolutional networks computed as one, with grouped layers."""

from collections import OrderedDict

import torch
from torch import nn

from .blocks import positive_ints
from .cnn import GlobalPool, channels_last, conv_layer_types, conv_plan, resolve_architecture
from .random import Dropout


class _MemberColumns(nn.Module):
    """``(B, M*c, *spatial)`` -> ``(B, M*c*spatial, 1)``: member blocks stay contiguous."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1, 1)


class CNNEnsembleNetwork(nn.Module):
    """``n_members`` independent copies of :class:`CNNNetwork` in one module.

    Member ``m`` owns the ``m``-th block of channels of every layer: the
    first convolution maps the shared input to ``n_members * channels``
    channels, later convolutions use ``groups=n_members``, and dense layers
    are grouped 1x1 convolutions. So the members never mix, each has its own
    initialisation (the same fan-in as a single network), and one forward
    pass computes all of them with a few large kernels instead of many small
    ones. Blocks are named as in :class:`CNNNetwork` (``trunk.conv0``,
    ``trunk.dense0``, ``head``).

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)`` or ``(C, H, W)``.
    n_outputs : int
        Outputs per member.
    n_members : int, default=5
        Number of networks.
    channels, kernel_size, pool_size, batch_norm, dropout, hidden_sizes, global_pool
        As for :class:`CNNNetwork`, per member; ``None`` takes the default
        for the input (images or signals).

    Examples
    --------
    >>> import torch
    >>> net = CNNEnsembleNetwork((1, 8, 8), n_outputs=10, n_members=4)
    >>> net(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 4, 10])
    """

    def __init__(self, input_shape, n_outputs, n_members=5, channels=None, kernel_size=None,
                 pool_size=None, batch_norm=True, dropout=None, hidden_sizes=None,
                 global_pool=None):
        super().__init__()
        input_shape, ndim, conv, norm, pool = conv_layer_types(input_shape)
        self.n_members = M = positive_ints(n_members, "n_members")[0]
        arch = resolve_architecture(input_shape, channels, kernel_size, pool_size, dropout,
                                    hidden_sizes, global_pool)
        dropout, hidden_sizes = arch["dropout"], arch["hidden_sizes"]
        plan, out_ch, spatial = conv_plan(input_shape, arch["channels"], arch["kernel_size"],
                                          arch["pool_size"])
        blocks, in_ch, groups = [], input_shape[0], 1
        for i, (ch, k, p) in enumerate(plan):
            # the first layer reads the shared input once for all members
            layers = [("conv", conv(in_ch * (M if groups > 1 else 1), ch * M, k,
                                    padding="same", groups=groups, bias=not batch_norm))]
            if batch_norm:
                layers.append(("norm", norm(ch * M)))  # per-channel: per member
            if p > 1:
                # max-pool then ReLU equals ReLU then max-pool (ReLU is monotone)
                # and touches a quarter of the values
                layers.append(("pool", pool(p)))
            layers.append(("act", nn.ReLU()))
            if dropout > 0:
                layers.append(("dropout", Dropout(dropout)))
            blocks.append((f"conv{i}", nn.Sequential(OrderedDict(layers))))
            in_ch, groups = ch, M
        if arch["global_pool"] == "flatten":
            width = out_ch * int(torch.tensor(spatial).prod())
        else:
            blocks.append(("global_pool", GlobalPool(arch["global_pool"])))
            width = out_ch
        blocks.append(("flatten", _MemberColumns()))
        for i, hidden in enumerate(positive_ints(hidden_sizes, "hidden_sizes")
                                   if len(hidden_sizes) else ()):
            layers = [("linear", nn.Conv1d(width * M, hidden * M, 1, groups=M)),
                      ("act", nn.ReLU())]
            if dropout > 0:
                layers.append(("dropout", Dropout(dropout)))
            blocks.append((f"dense{i}", nn.Sequential(OrderedDict(layers))))
            width = hidden
        self.trunk = nn.Sequential(OrderedDict(blocks))
        self.head = nn.Conv1d(width * M, n_outputs * M, 1, groups=M)
        self.n_outputs = n_outputs
        if ndim == 2:
            self.trunk.to(memory_format=torch.channels_last)

    def embed(self, x):
        """Penultimate features of every member, shape ``(B, M, hidden)``."""
        h = self.trunk(channels_last(x))
        return h.reshape(h.shape[0], self.n_members, -1)

    def forward(self, x):
        out = self.head(self.trunk(channels_last(x)))
        return out.reshape(x.shape[0], self.n_members, self.n_outputs)
