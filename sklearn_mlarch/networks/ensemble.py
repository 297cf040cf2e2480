"""Several independent copies of a network in one module.

:func:`ensemble_network` builds them as one vectorised module
(:class:`StackedEnsemble`, ``torch.func.vmap`` over stacked parameters) where
torch can batch the network's operations, and as a loop over the members
(:class:`MemberEnsemble`) where it cannot (recurrent layers: torch has no
batching rule for ``lstm``/``gru``). Either returns ``(batch, n_members, ...)``.
"""

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class MemberEnsemble(nn.Module):
    """``n_members`` copies of ``network(**kwargs)``, run one after the other.

    Parameters
    ----------
    network : network class
        Built ``n_members`` times with ``**kwargs``.
    n_members : int

    Examples
    --------
    >>> import torch
    >>> from sklearn_mlarch.networks import MLPNetwork
    >>> net = MemberEnsemble(MLPNetwork, 3, n_features=4, n_outputs=2)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3, 2])
    """

    def __init__(self, network, n_members, **kwargs):
        super().__init__()
        self.members = nn.ModuleList(network(**kwargs) for _ in range(int(n_members)))

    def embed(self, x):
        """Each member's penultimate-layer features, ``(batch, n_members, hidden)``."""
        return torch.stack([member.embed(x) for member in self.members], dim=1)

    def forward(self, x):
        return torch.stack([member(x) for member in self.members], dim=1)


class _Embedding(nn.Module):
    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, x):
        return self.network.embed(x)


class StackedEnsemble(nn.Module):
    """``n_members`` copies of ``network(**kwargs)`` computed as one vectorised network.

    Each parameter is stored once, stacked over the members (shape
    ``(n_members, ...)``), under the member network's own name, so block
    names (``trunk``, ``head``) still select parameters for ``freeze`` and
    ``trunk_lr``. ``forward`` maps the member network over the stacks with
    ``torch.func.vmap``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mlarch.networks import MLPNetwork
    >>> net = StackedEnsemble(MLPNetwork, 3, n_features=4, n_outputs=2)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3, 2])
    >>> tuple(dict(net.named_parameters())["head.weight"].shape)
    (3, 2, 64)
    """

    def __init__(self, network, n_members, **kwargs):
        super().__init__()
        members = [network(**kwargs) for _ in range(int(n_members))]
        params, buffers = stack_module_state(members)
        # the computation without weights of its own: every tensor is passed in
        self._template = [copy.deepcopy(members[0]).to("meta")]  # a list: no submodule
        for name, value in params.items():
            _holder(self, name).register_parameter(name.rsplit(".", 1)[-1],
                                                   nn.Parameter(value))
        for name, value in buffers.items():
            _holder(self, name).register_buffer(name.rsplit(".", 1)[-1], value)

    def _map(self, module, x, prefix=""):
        module.train(self.training)
        params = {prefix + k: v for k, v in self.named_parameters()}
        buffers = {prefix + k: v for k, v in self.named_buffers()}

        def one(p, b, x):
            return functional_call(module, (p, b), (x,))

        out = vmap(one, in_dims=(0, 0, None), randomness="different")(params, buffers, x)
        return out.transpose(0, 1)

    def embed(self, x):
        """Each member's penultimate-layer features, ``(batch, n_members, hidden)``."""
        return self._map(_Embedding(self._template[0]), x, prefix="network.")

    def forward(self, x):
        return self._map(self._template[0], x)


def _holder(root, name):
    """The (new, empty) submodule of ``root`` that holds the tensor ``name``."""
    module = root
    for part in name.split(".")[:-1]:
        if part not in module._modules:
            module.add_module(part, nn.Module())
        module = module._modules[part]
    return module


def ensemble_network(network, n_members, **kwargs):
    """``n_members`` copies of ``network(**kwargs)`` in one module.

    Vectorised (:class:`StackedEnsemble`) where torch can batch the
    network's operations, a loop over the members (:class:`MemberEnsemble`)
    otherwise: recurrent layers and batch normalisation.

    Parameters
    ----------
    network : type of torch.nn.Module
        The network class of every member.
    n_members : int
        Number of members.
    **kwargs : dict
        Arguments of ``network``.

    Returns
    -------
    ensemble : StackedEnsemble or MemberEnsemble
        The members' module.

    Examples
    --------
    >>> from sklearn_mlarch.networks import MLPNetwork, RNNNetwork
    >>> type(ensemble_network(MLPNetwork, 2, n_features=3, n_outputs=2)).__name__
    'StackedEnsemble'
    >>> type(ensemble_network(RNNNetwork, 2, n_features=3, n_outputs=2)).__name__
    'MemberEnsemble'
    """
    with torch.random.fork_rng(devices=[]):  # the members' initialisation stays the same
        probe = network(**kwargs)
    # recurrent layers have no batching rule; batch norm's running statistics
    # update through a slow fallback
    if any(isinstance(m, (nn.RNNBase, nn.modules.batchnorm._BatchNorm))
           for m in probe.modules()):
        return MemberEnsemble(network, n_members, **kwargs)
    return StackedEnsemble(network, n_members, **kwargs)
