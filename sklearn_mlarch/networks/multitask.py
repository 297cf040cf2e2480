"""A shared trunk with one linear head per task."""

from torch import nn

from .module import ModuleNetwork


class MultiTaskNetwork(nn.Module):
    """Shared trunk, one linear head per task; ``forward`` returns a tuple of outputs.

    Parameters
    ----------
    backbone : network class or torch module
        A network class with a ``trunk`` and ``out_features`` (those of this
        package: :class:`CNNNetwork`, :class:`RNNNetwork`, :class:`MLPNetwork`,
        :class:`ModuleNetwork`), built with ``n_outputs=1`` and
        ``**backbone_kwargs``, whose ``trunk`` is kept (its head dropped); or
        a torch module mapping a batch to ``(batch, features)``, used (as a
        copy) as the trunk.
    n_outputs : sequence of int
        Output size of each task's head (classes, or 1 for regression).
    input_shape : tuple of int, default=None
        Shape of one sample; needed to size the heads after a user module.
    **backbone_kwargs
        Sizes of a built-in backbone (``input_shape`` included for the CNN).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mlarch.networks import CNNNetwork
    >>> net = MultiTaskNetwork(CNNNetwork, [10, 2], input_shape=(1, 8, 8), channels=(4,))
    >>> [out.shape[1] for out in net(torch.zeros(3, 1, 8, 8))]
    [10, 2]
    >>> [name for name, _ in net.named_children()]
    ['trunk', 'heads']
    """

    def __init__(self, backbone, n_outputs, input_shape=None, **backbone_kwargs):
        super().__init__()
        if isinstance(backbone, nn.Module):
            backbone, backbone_kwargs = ModuleNetwork, {"module": backbone}
        if "input_shape" in _init_args(backbone):
            backbone_kwargs["input_shape"] = input_shape
        net = backbone(n_outputs=1, **backbone_kwargs)
        self.trunk, width = net.trunk, net.out_features
        # the backbone's own embed (masking padded series, channels-last
        # images) runs on this trunk: the same module object, registered here
        del net.head
        self._backbone = [net]  # a list: not a submodule of its own
        self.out_features = width
        self.heads = nn.ModuleList(nn.Linear(width, int(k)) for k in n_outputs)

    def embed(self, x):
        """Shared features of a batch ``x``."""
        return self._backbone[0].embed(x)

    def forward(self, x):
        h = self.embed(x)
        return tuple(head(h) for head in self.heads)


def _init_args(cls):
    import inspect

    return inspect.signature(cls).parameters
