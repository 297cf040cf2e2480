"""M ResNet or Inception networks for series computed as one, with grouped layers.

As :class:`CNNEnsembleNetwork` does for the plain CNN: member ``m`` owns
the ``m``-th block of channels of every layer. A layer that reads the
network's input reads it once for all members (one convolution to
``M * c`` channels); every later convolution has ``groups=M``; batch norm
over the ``M * c`` channels is each member's own batch norm (its statistics
are per channel); the head is a grouped 1x1 convolution. Concatenated
Inception branches are interleaved so that each member's channels stay
contiguous. So the members never mix, each is initialised as a single
network is (the same fan-in), and one forward pass computes all of them.
Blocks and parameters have the single network's names (``trunk.block0``,
``trunk.shortcut0``, ``head``), so ``freeze`` and ``summary()`` read them.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import positive_ints
from .series import (INCEPTION_CHANNELS, INCEPTION_KERNELS, RESNET_CHANNELS, RESNET_KERNELS,
                     ConvNorm, InceptionModule, InceptionNetwork, ResidualBlock, ResNetNetwork,
                     Shortcut, _masked, _norm, _SeriesNetwork, _signal_shape)


def _conv(in_channels, out_channels, kernel_size, members, shared, bias):
    """Each member's ``Conv1d(in, out, k)``: from the shared input, or grouped."""
    if shared:  # the network's input, read once for all members
        return nn.Conv1d(in_channels, out_channels * members, kernel_size, padding="same",
                         bias=bias)
    return nn.Conv1d(in_channels * members, out_channels * members, kernel_size,
                     padding="same", groups=members, bias=bias)


class _Repeat(nn.Module):
    """The shared input once per member: ``(N, C, L)`` to ``(N, M*C, L)``."""

    def __init__(self, members):
        super().__init__()
        self.members = members

    def forward(self, x):
        return x.repeat(1, self.members, 1)


class GroupedConvNorm(ConvNorm):
    """:class:`ConvNorm` of ``members`` networks (``shared``: reads the network's input)."""

    def __init__(self, in_channels, out_channels, kernel_size, batch_norm=True, members=1,
                 shared=False):
        nn.Module.__init__(self)
        if kernel_size is not None:
            self.conv = _conv(in_channels, out_channels, kernel_size, members, shared,
                              bias=not batch_norm)
        else:  # a shortcut that keeps its channels: the members' own copy of the input
            self.conv = _Repeat(members) if shared and members > 1 else nn.Identity()
        self.norm = nn.BatchNorm1d(out_channels * members) if batch_norm else nn.Identity()


class GroupedResidualBlock(ResidualBlock):
    """:class:`ResidualBlock` of ``members`` networks."""

    def __init__(self, in_channels, out_channels, kernel_sizes=RESNET_KERNELS,
                 batch_norm=True, members=1, shared=False):
        nn.Module.__init__(self)
        widths = [in_channels] + [out_channels] * len(kernel_sizes)
        for i, k in enumerate(kernel_sizes):
            self.add_module(f"conv{i}", GroupedConvNorm(widths[i], out_channels, k, batch_norm,
                                                        members, shared and i == 0))
        self.n_convs = len(kernel_sizes)
        self.shortcut = GroupedConvNorm(in_channels, out_channels,
                                        1 if in_channels != out_channels else None,
                                        batch_norm, members, shared)


class GroupedShortcut(Shortcut):
    """:class:`Shortcut` of ``members`` networks."""

    def __init__(self, in_channels, out_channels, batch_norm=True, members=1, shared=False):
        nn.Module.__init__(self)
        self.proj = GroupedConvNorm(in_channels, out_channels, 1, batch_norm, members, shared)


class GroupedInceptionModule(InceptionModule):
    """:class:`InceptionModule` of ``members`` networks.

    The branches' outputs are concatenated member by member: member ``m``'s
    channels are its four branches, one after the other, as in a single
    module.
    """

    def __init__(self, in_channels, filters, kernel_sizes=INCEPTION_KERNELS, bottleneck=32,
                 batch_norm=True, members=1, shared=False):
        nn.Module.__init__(self)
        self.members = members
        if in_channels > 1:
            self.bottleneck = _conv(in_channels, bottleneck, 1, members, shared, bias=False)
            width, reads_shared = bottleneck, False
        else:
            self.bottleneck = nn.Identity()
            width, reads_shared = in_channels, shared
        self.convs = nn.ModuleList(_conv(width, filters, k, members, reads_shared,
                                         bias=not batch_norm) for k in kernel_sizes)
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = _conv(in_channels, filters, 1, members, shared, bias=not batch_norm)
        self.norm = (nn.BatchNorm1d(filters * (len(kernel_sizes) + 1) * members)
                     if batch_norm else nn.Identity())

    def forward(self, x, keep=None):
        h = self.bottleneck(x)
        branches = [conv(_masked(h, keep)) for conv in self.convs]
        pooled = self.pool(x if keep is None else x.masked_fill(keep == 0, float("-inf")))
        if keep is not None:
            pooled = pooled.masked_fill(keep == 0, 0.0)
        branches.append(self.pool_conv(pooled))
        n, length = x.shape[0], x.shape[2]
        # (N, M*F, L) each -> (N, M, branches*F, L): each member's channels contiguous
        out = torch.cat([b.reshape(n, self.members, -1, length) for b in branches], dim=2)
        return F.relu(_norm(self.norm, out.reshape(n, -1, length), keep))


class _SeriesEnsembleNetwork(_SeriesNetwork):
    """``n_members`` series networks as one; ``forward`` gives ``(B, M, n_outputs)``."""

    single = None  # the member's network class

    def _start(self, input_shape, n_members, channels, default_channels, kernel_sizes):
        """Checked ``(n_members, channels, kernel_sizes)``; sets ``input_shape``."""
        super().__init__()
        self.input_shape = _signal_shape(input_shape, type(self).__name__)
        self.n_members = positive_ints(n_members, "n_members")[0]
        return (self.n_members,
                positive_ints(default_channels if channels is None else channels, "channels"),
                positive_ints(kernel_sizes, "kernel_sizes"))

    def _build(self, input_shape, blocks, width, n_outputs, global_pool, variable_length):
        super()._build(input_shape, blocks, width, n_outputs, global_pool, variable_length)
        self.n_outputs = n_outputs

    def _new_head(self, width, n_outputs):
        # a Linear per member, drawn as the single network draws its Linear
        # (one member is then the single network, weight for weight)
        M = self.n_members
        return nn.Conv1d(width * M, n_outputs * M, 1, groups=M)

    def embed(self, x):
        """Penultimate features of every member, shape ``(B, M, hidden)``."""
        h = super().embed(x)
        return h.reshape(h.shape[0], self.n_members, -1)

    def forward(self, x):
        out = self.head(super().embed(x)[:, :, None])
        return out.reshape(x.shape[0], self.n_members, self.n_outputs)

    @classmethod
    def from_networks(cls, networks):
        """The ensemble of the networks of ``networks`` (of :attr:`single`), their weights copied.

        Parameters
        ----------
        networks : sequence of ResNetNetwork or InceptionNetwork
            The members, all of one architecture.

        Returns
        -------
        ensemble : the same class
            Whose member ``m`` computes what ``networks[m]`` does.
        """
        first = networks[0]
        ens = cls(first.input_shape, first.head.out_features, n_members=len(networks),
                  variable_length=first.variable_length, **first.architecture)
        states = [net.state_dict() for net in networks]
        with torch.no_grad():
            for name, value in ens.state_dict().items():
                if value.dim() == 0:  # a counter of batch norm, shared by the members
                    value.copy_(states[0][name])
                    continue
                shape = (value.shape[0] // len(networks),) + tuple(value.shape[1:])
                value.copy_(torch.cat([s[name].reshape(shape) for s in states]))
        return ens


class ResNetEnsembleNetwork(_SeriesEnsembleNetwork):
    """``n_members`` independent :class:`ResNetNetwork` in one module, with grouped layers.

    Parameters
    ----------
    %(members_params)s
    channels, kernel_sizes, batch_norm, global_pool, variable_length
        As for :class:`ResNetNetwork`, per member.

    Examples
    --------
    >>> import torch
    >>> net = ResNetEnsembleNetwork((2, 30), n_outputs=3, n_members=4, channels=(8,))
    >>> net(torch.zeros(5, 2, 30)).shape
    torch.Size([5, 4, 3])
    """

    single = ResNetNetwork

    def __init__(self, input_shape, n_outputs, n_members=5, channels=None,
                 kernel_sizes=RESNET_KERNELS, batch_norm=True, global_pool="avg",
                 variable_length=False):
        M, channels, kernel_sizes = self._start(input_shape, n_members, channels,
                                                RESNET_CHANNELS, kernel_sizes)
        blocks, in_ch = [], self.input_shape[0]
        for i, ch in enumerate(channels):
            blocks.append((f"block{i}", GroupedResidualBlock(in_ch, ch, kernel_sizes,
                                                             batch_norm, M, shared=i == 0)))
            in_ch = ch
        self.architecture = dict(channels=channels, kernel_sizes=kernel_sizes,
                                 batch_norm=batch_norm, global_pool=global_pool)
        self._build(self.input_shape, blocks, in_ch, n_outputs, global_pool, variable_length)


class InceptionEnsembleNetwork(_SeriesEnsembleNetwork):
    """``n_members`` independent :class:`InceptionNetwork` in one module: InceptionTime.

    With ``n_members=5`` and the default widths, the ensemble of Ismail
    Fawaz et al. (2020), computed in one pass of grouped convolutions.

    Parameters
    ----------
    %(members_params)s
    channels, kernel_sizes, residual_every, batch_norm, global_pool, variable_length
        As for :class:`InceptionNetwork`, per member.

    Examples
    --------
    >>> import torch
    >>> net = InceptionEnsembleNetwork((1, 40), n_outputs=2, n_members=3, channels=(4, 4))
    >>> net(torch.zeros(5, 1, 40)).shape
    torch.Size([5, 3, 2])
    >>> net.embed(torch.zeros(5, 1, 40)).shape
    torch.Size([5, 3, 16])
    """

    single = InceptionNetwork

    def __init__(self, input_shape, n_outputs, n_members=5, channels=None,
                 kernel_sizes=INCEPTION_KERNELS, residual_every=3, batch_norm=True,
                 global_pool="avg", variable_length=False):
        M, channels, kernel_sizes = self._start(input_shape, n_members, channels,
                                                INCEPTION_CHANNELS, kernel_sizes)
        every = positive_ints(residual_every, "residual_every")[0]
        blocks, in_ch = [], self.input_shape[0]
        residual_ch, residual_shared = in_ch, True
        for i, filters in enumerate(channels):
            blocks.append((f"block{i}", GroupedInceptionModule(
                in_ch, filters, kernel_sizes, bottleneck=filters, batch_norm=batch_norm,
                members=M, shared=i == 0)))
            in_ch = filters * (len(kernel_sizes) + 1)
            if i % every == every - 1:
                blocks.append((f"shortcut{i // every}", GroupedShortcut(
                    residual_ch, in_ch, batch_norm, M, shared=residual_shared)))
                residual_ch, residual_shared = in_ch, False
        self.architecture = dict(channels=channels, kernel_sizes=kernel_sizes,
                                 residual_every=every, batch_norm=batch_norm,
                                 global_pool=global_pool)
        self._build(self.input_shape, blocks, in_ch, n_outputs, global_pool, variable_length)


#: the ensemble network of each ``architecture`` of the CNN estimators
SERIES_ENSEMBLE_NETWORKS = dict(resnet=ResNetEnsembleNetwork,
                                inception=InceptionEnsembleNetwork)


_MEMBERS_PARAMS = """input_shape : tuple of int
        ``(C, L)``.
    n_outputs : int
        Outputs per member.
    n_members : int, default=5
        Number of networks."""
for _cls in (ResNetEnsembleNetwork, InceptionEnsembleNetwork):
    _cls.__doc__ = _cls.__doc__.replace("%(members_params)s", _MEMBERS_PARAMS)
