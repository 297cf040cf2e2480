"""A user's torch module as the trunk of a network, with a linear head."""

import copy

import torch
from torch import nn

from .cnn import channels_last


def output_width(trunk, input_shape):
    """Features per sample that ``trunk`` gives for samples of ``input_shape``."""
    if input_shape is None:
        raise ValueError("A torch module as trunk needs input_shape to size the head.")
    was_training = trunk.training
    trunk.eval()
    with torch.no_grad():
        out = trunk(torch.zeros(2, *input_shape))
    trunk.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise ValueError(
            "The module must map a batch to a 2-D tensor (batch, features); it "
            f"returned {type(out).__name__}"
            + (f" of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else "")
            + ". End it with torch.nn.Flatten() or a pooling layer (a torchvision model: "
            "replace its classifier by torch.nn.Identity()).")
    return int(out.shape[1])


class ModuleNetwork(nn.Module):
    """A copy of ``module`` as the trunk, and a linear head sized for ``n_outputs``.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a batch of ``input_shape`` samples to ``(batch, features)``; a
        torchvision backbone with its classifier replaced by
        ``torch.nn.Identity()``, say. Copied, so the user's module is never
        trained in place.
    n_outputs : int
        Size of the head's output.
    input_shape : tuple of int
        Shape of one sample, to size the head.

    Examples
    --------
    >>> import torch
    >>> net = ModuleNetwork(torch.nn.Flatten(), n_outputs=3, input_shape=(2, 4))
    >>> net(torch.zeros(5, 2, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(self, module, n_outputs, input_shape):
        super().__init__()
        self.trunk = copy.deepcopy(module)
        self.out_features = output_width(self.trunk, input_shape)
        self.head = nn.Linear(self.out_features, n_outputs)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        return self.trunk(channels_last(x))

    def forward(self, x):
        return self.head(self.embed(x))
