"""Convolutional network for images ``(C, H, W)`` and signals ``(C, L)``."""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from .blocks import dense_blocks, positive_ints
from .random import Dropout


def channels_last(x):
    """Images ``(N, C, H, W)`` in channels-last memory order; other tensors unchanged.

    oneDNN's convolution and pooling kernels on the CPU run faster on this
    layout; the values, and so the results, are the same.
    """
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def conv_layer_types(input_shape):
    """``(input_shape, ndim, Conv, BatchNorm, MaxPool)`` for signals or images."""
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) not in (2, 3):
        raise ValueError(
            "input_shape must be (C, L) for signals or (C, H, W) for images, "
            f"got {input_shape}")
    if len(input_shape) == 2:
        return input_shape, 1, nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d
    return input_shape, 2, nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d


# Defaults by input kind (``None`` arguments of :class:`CNNNetwork`).
# Images: two 3x3 blocks with max-pooling, flattened into a dense layer.
# Signals: the fully convolutional network (FCN) of Wang et al. (2017), "Time
# series classification from scratch with deep neural networks: a strong
# baseline", IJCNN: three blocks with batch norm, no pooling, then global
# average pooling straight into the head, so the network neither grows with
# the signal's length nor ties a feature to its position. The paper's blocks
# have 128, 256 and 128 filters of widths 8, 5 and 3; here half as many
# filters (a quarter of the operations: on 2 CPU cores a full FCN took 4
# times as long per step) and widths 7, 5 and 3.
IMAGE_DEFAULTS = dict(channels=(32, 64), kernel_size=3, pool_size=2, dropout=0.25,
                      hidden_sizes=(128,), global_pool="flatten")
SIGNAL_DEFAULTS = dict(channels=(64, 128, 64), kernel_size=(7, 5, 3), pool_size=1,
                       dropout=0.0, hidden_sizes=(), global_pool="avg")
_SIGNAL_KERNELS = (7, 5, 3)
GLOBAL_POOLS = ("avg", "max", "flatten")


def resolve_architecture(input_shape, channels=None, kernel_size=None, pool_size=None,
                         dropout=None, hidden_sizes=None, global_pool=None):
    """The CNN's architecture with every ``None`` replaced by its default.

    Defaults depend on the input: images ``(C, H, W)`` take
    ``IMAGE_DEFAULTS``, signals ``(C, L)`` take ``SIGNAL_DEFAULTS``. A
    default kernel size for signals follows the number of blocks: 7, 5 and
    3 for the first three, 3 after (odd widths: ``padding='same'`` then
    needs no copy of the input).

    Examples
    --------
    >>> resolve_architecture((1, 100))["channels"]
    (64, 128, 64)
    >>> resolve_architecture((1, 100), channels=(16,))["kernel_size"]
    (7,)
    >>> resolve_architecture((1, 8, 8))["global_pool"]
    'flatten'
    """
    defaults = SIGNAL_DEFAULTS if len(tuple(input_shape)) == 2 else IMAGE_DEFAULTS
    given = dict(channels=channels, kernel_size=kernel_size, pool_size=pool_size,
                 dropout=dropout, hidden_sizes=hidden_sizes, global_pool=global_pool)
    arch = {k: defaults[k] if v is None else v for k, v in given.items()}
    if kernel_size is None and defaults is SIGNAL_DEFAULTS:
        n_blocks = len(positive_ints(arch["channels"], "channels"))
        arch["kernel_size"] = (_SIGNAL_KERNELS + (3,) * n_blocks)[:n_blocks]
    if arch["global_pool"] not in GLOBAL_POOLS:
        raise ValueError(f"global_pool must be one of {GLOBAL_POOLS} or None (the default "
                         f"for the input), got {arch['global_pool']!r}.")
    return arch


class GlobalPool(nn.Module):
    """Average or maximum over every spatial position: ``(N, C, ...)`` to ``(N, C)``."""

    def __init__(self, mode="avg"):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        x = x.flatten(2)
        return x.mean(dim=2) if self.mode == "avg" else x.amax(dim=2)

    def extra_repr(self):
        return f"mode={self.mode!r}"


def _masked_batch_norm(norm, x, valid):
    """Batch norm whose statistics count only the real positions ``valid``.

    In training the mean and variance are taken over the real positions of
    the batch (and update the running statistics as ``BatchNorm1d`` does);
    in evaluation the running statistics apply, as usual.
    """
    if not norm.training:
        return norm(x)
    count = valid.sum()
    mean = (x * valid).sum(dim=(0, 2)) / count
    var = (((x - mean[:, None]) * valid) ** 2).sum(dim=(0, 2)) / count
    if norm.track_running_stats:
        with torch.no_grad():
            norm.num_batches_tracked += 1
            momentum = (1.0 / float(norm.num_batches_tracked) if norm.momentum is None
                        else norm.momentum)
            unbiased = var * count / (count - 1).clamp(min=1)
            norm.running_mean.lerp_(mean.detach(), momentum)
            norm.running_var.lerp_(unbiased.detach(), momentum)
    x = (x - mean[:, None]) * torch.rsqrt(var + norm.eps)[:, None]
    return x * norm.weight[:, None] + norm.bias[:, None] if norm.affine else x


def masked_trunk(trunk, x):
    """Run a signal CNN's trunk over series padded with NaN after their end.

    ``x`` is ``(N, C, L)``; positions whose channels are all NaN are
    padding. They are zeroed before each convolution, as the convolution's
    own ``'same'`` padding would be, left out of batch-norm statistics,
    pooling and the global pooling, so in evaluation each series gives what
    it gives alone at its own length.
    """
    valid = ~torch.isnan(x).all(dim=1, keepdim=True)
    x = torch.nan_to_num(x)
    keep = valid.to(x.dtype)
    for name, block in trunk.named_children():
        if name.startswith("conv"):
            for layer in block:
                if isinstance(layer, _BatchNorm):
                    x = _masked_batch_norm(layer, x, keep)
                elif isinstance(layer, nn.MaxPool1d):
                    x = layer(x)
                    # a pooled position is real when its whole window was
                    keep = -F.max_pool1d(-keep, layer.kernel_size)
                else:
                    x = layer(x * keep if isinstance(layer, nn.Conv1d) else x)
            x = x * keep
        elif name == "global_pool":
            if block.mode == "avg":
                x = (x * keep).sum(dim=2) / keep.sum(dim=2).clamp(min=1)
            else:
                x = x.masked_fill(keep == 0, float("-inf")).amax(dim=2)
        elif name == "flatten":
            raise ValueError("Series of different lengths need global_pool='avg' or 'max': "
                             "a flattened output depends on the length.")
        else:
            x = block(x)
    return x


def conv_plan(input_shape, channels, kernel_size, pool_size):
    """Validated sizes of each convolution block.

    Returns ``(blocks, out_channels, spatial)`` where ``blocks`` lists
    ``(out_ch, kernel, pool)`` with ``pool`` 1 where pooling is skipped (a
    spatial side smaller than the window), and ``spatial`` is the output size.
    """
    channels = positive_ints(channels, "channels")
    kernels = positive_ints(kernel_size, "kernel_size", len(channels))
    pools = positive_ints(pool_size, "pool_size", len(channels))
    spatial, blocks = list(input_shape[1:]), []
    for out_ch, k, p in zip(channels, kernels, pools):
        if p > 1 and min(spatial) >= p:
            spatial = [s // p for s in spatial]
        else:
            p = 1
        blocks.append((out_ch, k, p))
    return blocks, (channels[-1] if channels else input_shape[0]), spatial


class CNNNetwork(nn.Module):
    """Convolution blocks, global pooling or flattening, dense blocks and a linear head.

    The trunk holds named blocks ``conv0, conv1, ..., flatten`` (or
    ``global_pool``) ``, dense0, ...``; each convolution block is ``conv ->
    [norm] -> act -> [pool] -> [dropout]`` with ``padding='same'``. Pooling
    is skipped once a spatial side is smaller than the pooling window, so
    tiny inputs still work.

    Every architecture argument left as ``None`` takes the default for the
    input (:func:`resolve_architecture`): for images ``(C, H, W)`` two
    3x3 blocks of 32 and 64 channels with 2x2 max-pooling, flattened into a
    dense layer of 128 with dropout 0.25; for signals ``(C, L)`` the fully
    convolutional network of Wang et al. (2017) at half its width: blocks
    of 64, 128 and 64 filters of widths 7, 5 and 3, no pooling, no dropout,
    and global average pooling straight into the head.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)`` for 1-D signals (``Conv1d``) or ``(C, H, W)`` for images
        (``Conv2d``).
    n_outputs : int
        Size of the output (logits or regression targets).
    channels : sequence of int, default=None
        Output channels of each convolution block.
    kernel_size : int or sequence of int, default=None
        Kernel size of each block (one value for all blocks, or one each).
    pool_size : int or sequence of int, default=None
        Max-pooling window after each block; 1 disables pooling.
    batch_norm : bool, default=True
        Whether to add batch normalisation after each convolution.
    dropout : float, default=None
        Dropout after each block and each hidden dense layer.
    hidden_sizes : sequence of int, default=None
        Dense layers between the pooled or flattened convolution output and
        the head.
    global_pool : {'avg', 'max', 'flatten'}, default=None
        How the last convolution block's output becomes a vector: its
        average or maximum over all positions (one value per channel, for
        any input length), or all of it flattened.
    channels_last : bool, default=True
        Keep images in channels-last memory order (faster oneDNN kernels on
        the CPU, same values). ``torch.func.vmap`` has no rule for it, so
        meta-learning builds its CNNs with False.
    variable_length : bool, default=False
        Signals may end early: positions whose channels are all NaN are
        padding after the series' end, left out of every layer
        (:func:`masked_trunk`). Needs ``global_pool`` 'avg' or 'max'.

    Examples
    --------
    >>> import torch
    >>> net = CNNNetwork((1, 8, 8), n_outputs=10)
    >>> net(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    >>> [name for name, _ in net.trunk.named_children()]
    ['conv0', 'conv1', 'flatten', 'dense0']
    >>> signal_net = CNNNetwork((3, 100), n_outputs=2)
    >>> [name for name, _ in signal_net.trunk.named_children()]
    ['conv0', 'conv1', 'conv2', 'global_pool']
    """

    def __init__(self, input_shape, n_outputs, channels=None, kernel_size=None,
                 pool_size=None, batch_norm=True, dropout=None, hidden_sizes=None,
                 global_pool=None, channels_last=True, variable_length=False):
        super().__init__()
        input_shape, ndim, conv, norm, pool = conv_layer_types(input_shape)
        self.input_shape = input_shape
        arch = resolve_architecture(input_shape, channels, kernel_size, pool_size, dropout,
                                    hidden_sizes, global_pool)
        self.architecture = dict(arch, batch_norm=batch_norm)
        dropout = arch["dropout"]
        plan, out_ch, spatial = conv_plan(input_shape, arch["channels"], arch["kernel_size"],
                                          arch["pool_size"])
        blocks, in_ch = [], input_shape[0]
        for i, (ch, k, p) in enumerate(plan):
            layers = [("conv", conv(in_ch, ch, k, padding="same", bias=not batch_norm))]
            if batch_norm:
                layers.append(("norm", norm(ch)))
            layers.append(("act", nn.ReLU()))
            if p > 1:
                layers.append(("pool", pool(p)))
            if dropout > 0:
                layers.append(("dropout", Dropout(dropout)))
            blocks.append((f"conv{i}", nn.Sequential(OrderedDict(layers))))
            in_ch = ch
        if arch["global_pool"] == "flatten":
            blocks.append(("flatten", nn.Flatten()))
            width = out_ch * int(torch.tensor(spatial).prod())
        else:
            blocks.append(("global_pool", GlobalPool(arch["global_pool"])))
            width = out_ch
        dense, width = dense_blocks(width, arch["hidden_sizes"], dropout)
        self.trunk = nn.Sequential(OrderedDict(blocks + dense))
        self.out_features = width
        self.head = nn.Linear(width, n_outputs)
        self.channels_last = channels_last and ndim == 2
        if self.channels_last:
            self.trunk.to(memory_format=torch.channels_last)
        if variable_length and (ndim != 1 or arch["global_pool"] == "flatten"):
            raise ValueError(
                "variable_length=True needs signals (C, L) and global_pool 'avg' or 'max' "
                f"(got input_shape={input_shape}, global_pool={arch['global_pool']!r}).")
        self.variable_length = variable_length

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        if self.variable_length:
            return masked_trunk(self.trunk, x)
        return self.trunk(channels_last(x) if self.channels_last else x)

    def forward(self, x):
        return self.head(self.embed(x))
