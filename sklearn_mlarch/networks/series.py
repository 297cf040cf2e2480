"""Deeper convolutional networks for time series ``(C, L)``: ResNet and Inception.

Both are written here from their papers' descriptions, in plain torch:

- :class:`ResNetNetwork`, the residual network of Wang, Yan and Oates
  (2017), "Time series classification from scratch with deep neural
  networks: a strong baseline", IJCNN, the best deep model of Ismail Fawaz
  et al. (2019), "Deep learning for time series classification: a review";
- :class:`InceptionNetwork`, one network of InceptionTime (Ismail Fawaz et
  al. 2020, "InceptionTime: Finding AlexNet for time series
  classification"), an ensemble of five of them.

Their trunks hold named blocks (``trunk.block0``, ..., ``trunk.shortcut0``,
``trunk.global_pool``) that ``freeze`` and ``summary()`` name, a linear
``head``, ``embed`` and ``out_features``, as :class:`CNNNetwork`. Every
convolution has an odd width (the papers' 8, 40, 20 and 10 become 7, 39, 19
and 9), so that ``padding='same'`` pads both ends equally, as the package's
FCN does.

Series of different lengths (``variable_length=True``) are NaN-padded
after their end; every layer then leaves the padding out: it is zeroed
before each convolution (as the convolution's own padding would be), left
out of batch-norm statistics, never picked by max-pooling, and left out of
the global pooling. In evaluation a series then gives what it gives alone.
"""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import positive_ints
from .cnn import GlobalPool, _masked_batch_norm

RESNET_CHANNELS = (64, 128, 128)
RESNET_KERNELS = (7, 5, 3)
INCEPTION_CHANNELS = (32,) * 6
INCEPTION_KERNELS = (39, 19, 9)


def _masked(x, keep):
    """``x`` with padded positions zeroed (``keep`` None: no padding)."""
    return x if keep is None else x * keep


def _norm(norm, x, keep):
    """Batch norm whose training statistics count only the real positions."""
    if keep is None or not isinstance(norm, nn.BatchNorm1d):
        return norm(x)
    return _masked_batch_norm(norm, x, keep)


class ConvNorm(nn.Module):
    """``conv -> batch norm`` over ``(N, C, L)`` (no activation).

    ``kernel_size=None`` skips the convolution (a shortcut that keeps its
    channels); ``batch_norm=False`` skips the norm (the convolution then has
    a bias).
    """

    def __init__(self, in_channels, out_channels, kernel_size, batch_norm=True):
        super().__init__()
        self.conv = (nn.Identity() if kernel_size is None else
                     nn.Conv1d(in_channels, out_channels, kernel_size, padding="same",
                               bias=not batch_norm))
        self.norm = nn.BatchNorm1d(out_channels) if batch_norm else nn.Identity()

    def forward(self, x, keep=None):
        return _norm(self.norm, self.conv(_masked(x, keep)), keep)


class ResidualBlock(nn.Module):
    """Three ``conv -> norm`` layers (ReLU between) plus a shortcut, then ReLU.

    The shortcut is a 1x1 convolution with batch norm where the channel
    count changes, batch norm alone where it does not.
    """

    def __init__(self, in_channels, out_channels, kernel_sizes=RESNET_KERNELS,
                 batch_norm=True):
        super().__init__()
        widths = [in_channels] + [out_channels] * len(kernel_sizes)
        for i, k in enumerate(kernel_sizes):
            self.add_module(f"conv{i}", ConvNorm(widths[i], out_channels, k, batch_norm))
        self.n_convs = len(kernel_sizes)
        self.shortcut = ConvNorm(in_channels, out_channels,
                                 1 if in_channels != out_channels else None, batch_norm)

    def forward(self, x, keep=None):
        y = x
        for i in range(self.n_convs):
            y = getattr(self, f"conv{i}")(y, keep)
            if i < self.n_convs - 1:
                y = F.relu(y)
        return F.relu(y + self.shortcut(x, keep))


class InceptionModule(nn.Module):
    """An Inception module of InceptionTime.

    A 1x1 bottleneck convolution (when the input has more than one channel)
    feeds convolutions of each width in ``kernel_sizes``; a branch of
    max-pooling (width 3, stride 1) and a 1x1 convolution reads the
    module's input. The branches, ``filters`` channels each, are
    concatenated, batch-normalised and passed through a ReLU.
    """

    def __init__(self, in_channels, filters, kernel_sizes=INCEPTION_KERNELS,
                 bottleneck=32, batch_norm=True):
        super().__init__()
        self.bottleneck = (nn.Conv1d(in_channels, bottleneck, 1, bias=False)
                           if in_channels > 1 else nn.Identity())
        width = bottleneck if in_channels > 1 else in_channels
        self.convs = nn.ModuleList(
            nn.Conv1d(width, filters, k, padding="same", bias=not batch_norm)
            for k in kernel_sizes)
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = nn.Conv1d(in_channels, filters, 1, bias=not batch_norm)
        self.norm = (nn.BatchNorm1d(filters * (len(kernel_sizes) + 1)) if batch_norm
                     else nn.Identity())

    def forward(self, x, keep=None):
        h = self.bottleneck(x)  # 1x1: padded positions stay apart
        branches = [conv(_masked(h, keep)) for conv in self.convs]
        # padding is never the maximum: -inf before pooling, 0 after
        pooled = self.pool(x if keep is None else x.masked_fill(keep == 0, float("-inf")))
        if keep is not None:
            pooled = pooled.masked_fill(keep == 0, 0.0)
        branches.append(self.pool_conv(pooled))
        return F.relu(_norm(self.norm, torch.cat(branches, dim=1), keep))


class Shortcut(nn.Module):
    """InceptionTime's residual connection: ``relu(x + norm(conv1x1(residual)))``."""

    def __init__(self, in_channels, out_channels, batch_norm=True):
        super().__init__()
        self.proj = ConvNorm(in_channels, out_channels, 1, batch_norm)

    def forward(self, residual, x, keep=None):
        return F.relu(x + self.proj(residual, keep))


class SeriesPool(GlobalPool):
    """Global average or maximum over the real positions of ``(N, C, L)``."""

    def forward(self, x, keep=None):
        if keep is None:
            return super().forward(x)
        if self.mode == "avg":
            return (x * keep).sum(dim=2) / keep.sum(dim=2).clamp(min=1)
        return x.masked_fill(keep == 0, float("-inf")).amax(dim=2)


class SeriesTrunk(nn.Module):
    """Named blocks run in order; a ``shortcut*`` block adds its residual input.

    A ``shortcut`` reads the trunk's input or the previous shortcut's
    output (the residual) and the current output.
    """

    def forward(self, x, keep=None):
        residual = x
        for name, block in self.named_children():
            if name.startswith("shortcut"):
                x = residual = block(residual, x, keep)
            else:
                x = block(x, keep)
        return x


class _SeriesNetwork(nn.Module):
    """A :class:`SeriesTrunk` and a linear head; masks padding when asked."""

    def _build(self, input_shape, blocks, width, n_outputs, global_pool, variable_length):
        if global_pool not in ("avg", "max"):
            raise ValueError(f"global_pool must be 'avg' or 'max', got {global_pool!r}.")
        self.trunk = SeriesTrunk()
        for name, block in blocks + [("global_pool", SeriesPool(global_pool))]:
            self.trunk.add_module(name, block)
        self.out_features = width
        self.head = self._new_head(width, n_outputs)
        self.variable_length = bool(variable_length)

    def _new_head(self, width, n_outputs):
        return nn.Linear(width, n_outputs)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        if not self.variable_length:
            return self.trunk(x)
        keep = (~torch.isnan(x).all(dim=1, keepdim=True)).to(x.dtype)
        return self.trunk(torch.nan_to_num(x), keep)

    def forward(self, x):
        return self.head(self.embed(x))


def _signal_shape(input_shape, name):
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 2:
        raise ValueError(f"{name} reads signals: input_shape must be (C, L), got {shape}.")
    return shape


class ResNetNetwork(_SeriesNetwork):
    """Residual network for time series (Wang, Yan and Oates 2017).

    Residual blocks of three convolutions of widths 7, 5 and 3 (the paper's
    8 made odd), each followed by batch norm, with a ReLU after the first
    two; a shortcut (a 1x1 convolution and batch norm where the channel
    count changes, batch norm alone where it does not) is added to the
    third, then a ReLU. Then global average pooling and the linear head.
    The trunk's blocks are ``block0, block1, ..., global_pool``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)``.
    n_outputs : int
        Size of the output (logits or regression targets).
    channels : sequence of int, default=None
        Filters of each block; its length is the number of blocks. None:
        ``(64, 128, 128)``, the paper's.
    kernel_sizes : sequence of int, default=(7, 5, 3)
        Widths of the three convolutions of every block.
    batch_norm : bool, default=True
        Batch norm after every convolution (without it, convolutions have
        a bias and a shortcut that keeps its channels is the identity).
    global_pool : {'avg', 'max'}, default='avg'
        Global pooling over the positions.
    variable_length : bool, default=False
        Positions whose channels are all NaN are padding after the series'
        end, left out of every layer.

    Examples
    --------
    >>> import torch
    >>> net = ResNetNetwork((2, 50), n_outputs=3)
    >>> net(torch.zeros(4, 2, 50)).shape
    torch.Size([4, 3])
    >>> [name for name, _ in net.trunk.named_children()]
    ['block0', 'block1', 'block2', 'global_pool']
    """

    def __init__(self, input_shape, n_outputs, channels=None, kernel_sizes=RESNET_KERNELS,
                 batch_norm=True, global_pool="avg", variable_length=False):
        super().__init__()
        self.input_shape = _signal_shape(input_shape, type(self).__name__)
        channels = positive_ints(RESNET_CHANNELS if channels is None else channels,
                                 "channels")
        kernel_sizes = positive_ints(kernel_sizes, "kernel_sizes")
        blocks, in_ch = [], self.input_shape[0]
        for i, ch in enumerate(channels):
            blocks.append((f"block{i}", ResidualBlock(in_ch, ch, kernel_sizes, batch_norm)))
            in_ch = ch
        self.architecture = dict(channels=channels, kernel_sizes=kernel_sizes,
                                 batch_norm=batch_norm, global_pool=global_pool)
        self._build(self.input_shape, blocks, in_ch, n_outputs, global_pool, variable_length)


class InceptionNetwork(_SeriesNetwork):
    """The Inception network of InceptionTime (Ismail Fawaz et al. 2020).

    ``len(channels)`` Inception modules (:class:`InceptionModule`; 6 by
    default): in each, a 1x1 bottleneck convolution to as many channels as
    the module's filters (when its input has more than one channel) feeds
    convolutions of widths 39, 19 and 9 (the paper's 40, 20 and 10 made
    odd); a max-pooling branch (width 3, stride 1) with a 1x1 convolution
    reads the module's input; the four branches are concatenated (4 times
    the filters), batch-normalised and passed through a ReLU. Every
    ``residual_every`` modules a shortcut (a 1x1 convolution and batch
    norm of the last shortcut's output, or of the input) is added, then a
    ReLU. Then global average pooling and the linear head. The trunk's
    blocks are ``block0, block1, block2, shortcut0, block3, ...,
    global_pool``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)``.
    n_outputs : int
        Size of the output (logits or regression targets).
    channels : sequence of int, default=None
        Filters of each branch of each module (and of its bottleneck); its
        length is the number of modules. None: ``(32,) * 6``, the paper's.
    kernel_sizes : sequence of int, default=(39, 19, 9)
        Widths of the convolutions read from the bottleneck.
    residual_every : int, default=3
        Modules between residual shortcuts.
    batch_norm : bool, default=True
        Batch norm after every module and shortcut convolution.
    global_pool : {'avg', 'max'}, default='avg'
        Global pooling over the positions.
    variable_length : bool, default=False
        Positions whose channels are all NaN are padding after the series'
        end, left out of every layer.

    Examples
    --------
    >>> import torch
    >>> net = InceptionNetwork((1, 60), n_outputs=2)
    >>> net(torch.zeros(3, 1, 60)).shape
    torch.Size([3, 2])
    >>> [name for name, _ in net.trunk.named_children()][:5]
    ['block0', 'block1', 'block2', 'shortcut0', 'block3']
    >>> net.out_features
    128
    """

    def __init__(self, input_shape, n_outputs, channels=None,
                 kernel_sizes=INCEPTION_KERNELS, residual_every=3, batch_norm=True,
                 global_pool="avg", variable_length=False):
        super().__init__()
        self.input_shape = _signal_shape(input_shape, type(self).__name__)
        channels = positive_ints(INCEPTION_CHANNELS if channels is None else channels,
                                 "channels")
        kernel_sizes = positive_ints(kernel_sizes, "kernel_sizes")
        every = positive_ints(residual_every, "residual_every")[0]
        blocks, in_ch = [], self.input_shape[0]
        residual_ch = in_ch
        for i, filters in enumerate(channels):
            blocks.append((f"block{i}", InceptionModule(in_ch, filters, kernel_sizes,
                                                        bottleneck=filters,
                                                        batch_norm=batch_norm)))
            in_ch = filters * (len(kernel_sizes) + 1)
            if i % every == every - 1:
                blocks.append((f"shortcut{i // every}",
                               Shortcut(residual_ch, in_ch, batch_norm)))
                residual_ch = in_ch
        self.architecture = dict(channels=channels, kernel_sizes=kernel_sizes,
                                 residual_every=every, batch_norm=batch_norm,
                                 global_pool=global_pool)
        self._build(self.input_shape, blocks, in_ch, n_outputs, global_pool, variable_length)


#: the network class of each ``architecture`` of the CNN estimators
SERIES_NETWORKS = OrderedDict(resnet=ResNetNetwork, inception=InceptionNetwork)
