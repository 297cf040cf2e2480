"""Ensembles of networks: vectorised and looped members agree with single networks."""

import torch

from sklearn_mlarch.networks import (CNNNetwork, MemberEnsemble, MLPNetwork, RNNNetwork,
                                     StackedEnsemble, ensemble_network)


def _members_of(net, network, **kwargs):
    """The stacked ensemble's members as separate networks with the same weights."""
    members = []
    for m in range(net(torch.zeros(1, *kwargs.pop("_shape"))).shape[1]):
        single = network(**kwargs)
        single.load_state_dict({k: v[m] for k, v in net.state_dict().items()})
        members.append(single)
    return members


def test_stacked_members_compute_what_the_single_networks_compute():
    torch.manual_seed(0)
    kwargs = dict(input_shape=(1, 8, 8), n_outputs=3, channels=(4,), channels_last=False)
    net = StackedEnsemble(CNNNetwork, 3, **kwargs).eval()
    x = torch.randn(5, 1, 8, 8)
    members = _members_of(net, CNNNetwork, _shape=(1, 8, 8), **kwargs)
    out = net(x)
    for m, single in enumerate(members):
        torch.testing.assert_close(out[:, m], single.eval()(x))


def test_stacked_parameters_keep_the_block_names():
    net = StackedEnsemble(MLPNetwork, 4, n_features=3, n_outputs=2, hidden_sizes=(5,))
    names = dict(net.named_parameters())
    assert set(names) == {n for n, _ in MLPNetwork(3, 2, hidden_sizes=(5,)).named_parameters()}
    assert names["head.weight"].shape == (4, 2, 5)
    net(torch.randn(6, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert net.embed(torch.randn(6, 3)).shape == (6, 4, 5)


def test_members_differ_and_recurrent_networks_loop():
    torch.manual_seed(0)
    net = ensemble_network(RNNNetwork, 2, n_features=3, n_outputs=2, hidden_size=4)
    assert isinstance(net, MemberEnsemble)
    out = net(torch.randn(5, 6, 3))
    assert out.shape == (5, 2, 2) and not torch.equal(out[:, 0], out[:, 1])
    stacked = ensemble_network(MLPNetwork, 2, n_features=3, n_outputs=2)
    assert isinstance(stacked, StackedEnsemble)
    w = dict(stacked.named_parameters())["head.weight"]
    assert not torch.equal(w[0], w[1])
