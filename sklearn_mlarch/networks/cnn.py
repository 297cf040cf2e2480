"""Convolutional network for images ``(C, H, W)`` and signals ``(C, L)``."""

import torch
from torch import nn

from .mlp import MLPHead


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


def _as_tuple(value, n):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"expected {n} values, got {len(value)}: {value}")
    return value


class CNNNetwork(nn.Module):
    """Stack of convolution blocks followed by dense layers and a linear head.

    Each block is ``Conv -> [BatchNorm] -> ReLU -> [MaxPool] -> [Dropout]``
    with ``padding='same'``; pooling is skipped once a spatial side is
    smaller than the pooling window, so tiny inputs still work.

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

    Examples
    --------
    >>> import torch
    >>> net = CNNNetwork((1, 8, 8), n_outputs=10)
    >>> net(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    """

    def __init__(self, input_shape, n_outputs, channels=(32, 64), kernel_size=3,
                 pool_size=2, batch_norm=True, dropout=0.0, hidden_sizes=(128,)):
        super().__init__()
        input_shape, ndim, conv, norm, pool = conv_layer_types(input_shape)
        self.input_shape = input_shape
        n_blocks = len(channels)
        kernels = _as_tuple(kernel_size, n_blocks)
        pools = _as_tuple(pool_size, n_blocks)

        layers = []
        in_ch, spatial = input_shape[0], list(input_shape[1:])
        for out_ch, k, p in zip(channels, kernels, pools):
            layers.append(conv(in_ch, out_ch, k, padding="same", bias=not batch_norm))
            if batch_norm:
                layers.append(norm(out_ch))
            layers.append(nn.ReLU())
            if p > 1 and min(spatial) >= p:
                layers.append(pool(p))
                spatial = [s // p for s in spatial]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_ch = out_ch
        layers.append(nn.Flatten())
        flat = in_ch * int(torch.tensor(spatial).prod())
        dense = MLPHead(flat, hidden_sizes, dropout)
        self.trunk = nn.Sequential(*layers, dense)
        self.head = nn.Linear(dense.out_features, n_outputs)
        if ndim == 2:
            self.trunk.to(memory_format=torch.channels_last)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        return self.trunk(channels_last(x))

    def forward(self, x):
        return self.head(self.embed(x))
