"""Convolutional network for images ``(C, H, W)`` and signals ``(C, L)``."""

from collections import OrderedDict

import torch
from torch import nn

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
    """Convolution blocks, dense blocks and a linear head.

    The trunk holds named blocks ``conv0, conv1, ..., flatten, dense0, ...``;
    each convolution block is ``conv -> [norm] -> act -> [pool] ->
    [dropout]`` with ``padding='same'``. Pooling is skipped once a spatial
    side is smaller than the pooling window, so tiny inputs still work.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)`` for 1-D signals (``Conv1d``) or ``(C, H, W)`` for images
        (``Conv2d``).
    n_outputs : int
        Size of the output (logits or regression targets).
    channels : sequence of int, default=(32, 64)
        Output channels of each convolution block.
    kernel_size : int or sequence of int, default=3
        Kernel size of each block (one value for all blocks, or one each).
    pool_size : int or sequence of int, default=2
        Max-pooling window after each block; 1 disables pooling.
    batch_norm : bool, default=True
        Whether to add batch normalisation after each convolution.
    dropout : float, default=0.0
        Dropout after each block and each hidden dense layer.
    hidden_sizes : sequence of int, default=(128,)
        Dense layers between the flattened convolution output and the head.
    channels_last : bool, default=True
        Keep images in channels-last memory order (faster oneDNN kernels on
        the CPU, same values). ``torch.func.vmap`` has no rule for it, so
        meta-learning builds its CNNs with False.

    Examples
    --------
    >>> import torch
    >>> net = CNNNetwork((1, 8, 8), n_outputs=10)
    >>> net(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    >>> [name for name, _ in net.trunk.named_children()]
    ['conv0', 'conv1', 'flatten', 'dense0']
    """

    def __init__(self, input_shape, n_outputs, channels=(32, 64), kernel_size=3,
                 pool_size=2, batch_norm=True, dropout=0.0, hidden_sizes=(128,),
                 channels_last=True):
        super().__init__()
        input_shape, ndim, conv, norm, pool = conv_layer_types(input_shape)
        self.input_shape = input_shape
        plan, out_ch, spatial = conv_plan(input_shape, channels, kernel_size, pool_size)
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
        dense, width = dense_blocks(out_ch * int(torch.tensor(spatial).prod()),
                                    hidden_sizes, dropout)
        self.trunk = nn.Sequential(OrderedDict(blocks + [("flatten", nn.Flatten())] + dense))
        self.out_features = width
        self.head = nn.Linear(width, n_outputs)
        self.channels_last = channels_last and ndim == 2
        if self.channels_last:
            self.trunk.to(memory_format=torch.channels_last)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        return self.trunk(channels_last(x) if self.channels_last else x)

    def forward(self, x):
        return self.head(self.embed(x))
