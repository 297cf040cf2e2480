"""ResNet and Inception ensembles as one network of grouped convolutions."""

import copy

import pytest
import torch

from sklearn_mlarch.networks import InceptionEnsembleNetwork, ResNetEnsembleNetwork

# tiny widths; Inception: 6 modules, so a shortcut from the input and one between modules;
# ResNet: a first block that keeps its 3 channels (a shortcut of batch norm alone) and one
# whose shortcut projects
CASES = [
    (InceptionEnsembleNetwork, dict(channels=(2,) * 6), 1),
    (InceptionEnsembleNetwork, dict(channels=(2,) * 4, kernel_sizes=(7, 3)), 3),
    (InceptionEnsembleNetwork, dict(channels=(3, 2), residual_every=1, batch_norm=False), 2),
    (ResNetEnsembleNetwork, dict(channels=(3, 4)), 3),
    (ResNetEnsembleNetwork, dict(channels=(2, 2), batch_norm=False), 2),
]
IDS = ["inception", "inception-3ch", "inception-nobn", "resnet", "resnet-nobn"]
L, M = 24, 3


def _members(ensemble, in_ch, variable_length=False, **arch):
    torch.manual_seed(0)
    return [ensemble.single((in_ch, L), 2, variable_length=variable_length, **arch)
            for _ in range(M)]


def _input(in_ch, masked):
    torch.manual_seed(1)
    x = torch.randn(6, in_ch, L)
    if masked:  # NaN padding after each series' end
        for i, n in enumerate([L, 5, 11, 17, 3, 20]):
            x[i, :, n:] = float("nan")
    return x


@pytest.mark.parametrize("masked", [False, True], ids=["equal-length", "masked"])
@pytest.mark.parametrize("ensemble, arch, in_ch", CASES, ids=IDS)
def test_equals_independent_members(ensemble, arch, in_ch, masked):
    singles = _members(ensemble, in_ch, masked, **arch)
    ens = ensemble.from_networks(singles)
    before = copy.deepcopy(singles)
    x = _input(in_ch, masked)
    # training mode: batch statistics, running statistics and gradients per member
    out = ens(x)
    outs = [net(x) for net in singles]
    torch.testing.assert_close(out, torch.stack(outs, dim=1), atol=1e-5, rtol=1e-5)
    (out ** 2).sum().backward()
    sum((o ** 2).sum() for o in outs).backward()
    grads = dict(ensemble.from_networks([_grads(n) for n in singles]).named_parameters())
    for name, p in ens.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], atol=1e-5, rtol=1e-4)
    updated = ensemble.from_networks(singles).state_dict()
    for name, value in ens.state_dict().items():
        torch.testing.assert_close(value, updated[name], atol=1e-6, rtol=1e-5)
    # evaluation: running statistics, embeddings too
    ens, singles = ensemble.from_networks(before).eval(), [n.eval() for n in before]
    with torch.no_grad():
        torch.testing.assert_close(ens(x), torch.stack([n(x) for n in singles], dim=1),
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ens.embed(x),
                                   torch.stack([n.embed(x) for n in singles], dim=1),
                                   atol=1e-5, rtol=1e-5)


def _grads(net):
    """A copy of ``net`` whose parameters hold its gradients."""
    copied = copy.deepcopy(net)
    with torch.no_grad():
        for p, grad in zip(copied.parameters(), net.parameters()):
            p.copy_(grad.grad)
    return copied


@pytest.mark.parametrize("ensemble, arch, in_ch", CASES[:1] + CASES[3:4], ids=IDS[:1] + IDS[3:4])
def test_shapes_names_and_initialisation(ensemble, arch, in_ch):
    torch.manual_seed(0)
    ens = ensemble((in_ch, L), 4, n_members=M, **arch)
    single = ensemble.single((in_ch, L), 4, **arch)
    x = torch.randn(5, in_ch, L)
    assert ens(x).shape == (5, M, 4)
    assert ens.embed(x).shape == (5, M, single.out_features)
    assert ens.out_features == single.out_features
    # blocks and parameters named as in one network: freeze and summary read them
    assert ([n for n, _ in ens.trunk.named_children()]
            == [n for n, _ in single.trunk.named_children()])
    singles = dict(single.named_parameters())
    assert set(dict(ens.named_parameters())) == set(singles)
    n_single = sum(p.numel() for p in singles.values())
    assert sum(p.numel() for p in ens.parameters()) == M * n_single
    # each member drawn with a single network's fan-in: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for name, p in ens.named_parameters():
        if name.endswith("weight") and singles[name].dim() > 1:
            bound = singles[name][0].numel() ** -0.5
            assert p.abs().max() <= bound + 1e-6
            if p.numel() > 200:
                assert p.abs().max() > 0.9 * bound


def test_members_start_different():
    net = InceptionEnsembleNetwork((1, L), 2, n_members=2, channels=(2, 2))
    w = net.trunk.block1.convs[0].weight
    assert not torch.equal(w[:2], w[2:])
    with pytest.raises(ValueError, match=r"input_shape must be \(C, L\)"):
        InceptionEnsembleNetwork((1, 8, 8), 2)
