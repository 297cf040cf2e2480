"""M convolutional networks computed as one, with grouped layers."""

import torch
from torch import nn

from .cnn import _as_tuple, channels_last, conv_layer_types


class CNNEnsembleNetwork(nn.Module):
    """``n_members`` independent copies of :class:`CNNNetwork` in one module.

    Member ``m`` owns the ``m``-th block of channels of every layer: the
    first convolution maps the shared input to ``n_members * channels``
    channels, later convolutions use ``groups=n_members``, and dense layers
    are grouped 1x1 convolutions. So the members never mix, each has its own
    initialisation (the same fan-in as a single network), and one forward
    pass computes all of them with a few large kernels instead of many small
    ones.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)`` or ``(C, H, W)``.
    n_outputs : int
        Outputs per member.
    n_members : int, default=5
        Number of networks.
    channels, kernel_size, pool_size, batch_norm, dropout, hidden_sizes
        As for :class:`CNNNetwork`, per member.

    Examples
    --------
    >>> import torch
    >>> net = CNNEnsembleNetwork((1, 8, 8), n_outputs=10, n_members=4)
    >>> net(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 4, 10])
    """

    def __init__(self, input_shape, n_outputs, n_members=5, channels=(32, 64), kernel_size=3,
                 pool_size=2, batch_norm=True, dropout=0.0, hidden_sizes=(128,)):
        super().__init__()
        input_shape, ndim, conv, norm, pool = conv_layer_types(input_shape)
        self.n_members = M = int(n_members)
        kernels = _as_tuple(kernel_size, len(channels))
        pools = _as_tuple(pool_size, len(channels))

        layers = []
        in_ch, spatial, groups = input_shape[0], list(input_shape[1:]), 1
        for out_ch, k, p in zip(channels, kernels, pools):
            # the first layer reads the shared input once for all members
            layers.append(conv(in_ch * (M if groups > 1 else 1), out_ch * M, k, padding="same",
                               groups=groups, bias=not batch_norm))
            if batch_norm:
                layers.append(norm(out_ch * M))  # per-channel: per member
            if p > 1 and min(spatial) >= p:
                # max-pool then ReLU equals ReLU then max-pool (ReLU is monotone)
                # and touches a quarter of the values
                layers.append(pool(p))
                spatial = [s // p for s in spatial]
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_ch, groups = out_ch, M
        self.convs = nn.Sequential(*layers)
        width = in_ch * int(torch.tensor(spatial).prod())
        dense = []
        for hidden in hidden_sizes:
            dense += [nn.Conv1d(width * M, hidden * M, 1, groups=M), nn.ReLU()]
            if dropout > 0:
                dense.append(nn.Dropout(dropout))
            width = hidden
        self.dense = nn.Sequential(*dense)
        self.head = nn.Conv1d(width * M, n_outputs * M, 1, groups=M)
        self.n_outputs = n_outputs
        if ndim == 2:
            self.convs.to(memory_format=torch.channels_last)

    def _flat(self, x):
        x = self.convs(channels_last(x))
        # (B, M*c, *spatial) -> (B, M*c*spatial, 1): member blocks stay contiguous
        return x.reshape(x.shape[0], -1, 1)

    def embed(self, x):
        """Penultimate features of every member, shape ``(B, M, hidden)``."""
        h = self.dense(self._flat(x))
        return h.reshape(h.shape[0], self.n_members, -1)

    def forward(self, x):
        out = self.head(self.dense(self._flat(x)))
        return out.reshape(x.shape[0], self.n_members, self.n_outputs)
