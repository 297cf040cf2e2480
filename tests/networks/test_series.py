"""ResNet and Inception networks for time series (issue 22)."""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_mlarch.networks import InceptionNetwork, ResNetNetwork

NETWORKS = [ResNetNetwork, InceptionNetwork]


def _count(net):
    return sum(p.numel() for p in net.parameters())


def _resnet_params(in_ch, channels, n_outputs, kernels=(7, 5, 3)):
    """Bias-free convolutions (batch norm follows each), 2 weights per batch-norm channel."""
    total = 0
    for ch in channels:
        total += ch * (in_ch * kernels[0] + ch * sum(kernels[1:])) + 3 * 2 * ch
        total += in_ch * ch + 2 * ch if in_ch != ch else 2 * ch  # the shortcut
        in_ch = ch
    return total + in_ch * n_outputs + n_outputs


def _inception_params(in_ch, channels, n_outputs, kernels=(39, 19, 9), every=3):
    total, residual = 0, in_ch
    for i, f in enumerate(channels):
        read = f if in_ch > 1 else in_ch
        total += (in_ch * f if in_ch > 1 else 0)  # bottleneck
        total += read * f * sum(kernels) + in_ch * f + 2 * 4 * f  # branches, pool conv, norm
        in_ch = 4 * f
        if i % every == every - 1:
            total += residual * in_ch + 2 * in_ch
            residual = in_ch
    return total + in_ch * n_outputs + n_outputs


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("shape", [(1, 30), (3, 17)])
def test_output_shapes(network, shape):
    net = network(shape, n_outputs=4)
    x = torch.randn(5, *shape)
    assert net(x).shape == (5, 4)
    assert net.embed(x).shape == (5, net.out_features)
    assert isinstance(net.head, nn.Linear) and net.head.in_features == net.out_features


def test_block_names():
    resnet = ResNetNetwork((2, 20), 3)
    assert [n for n, _ in resnet.trunk.named_children()] == [
        "block0", "block1", "block2", "global_pool"]
    inception = InceptionNetwork((2, 20), 3)
    assert [n for n, _ in inception.trunk.named_children()] == [
        "block0", "block1", "block2", "shortcut0", "block3", "block4", "block5", "shortcut1",
        "global_pool"]
    assert inception.out_features == 128 and resnet.out_features == 128
    names = dict(resnet.named_parameters())
    assert "trunk.block0.conv0.conv.weight" in names and "head.weight" in names
    assert tuple(names["trunk.block0.conv0.conv.weight"].shape) == (64, 2, 7)
    assert "trunk.block2.shortcut.conv.weight" not in names  # 128 -> 128: batch norm only


@pytest.mark.parametrize("in_ch, channels", [(1, None), (3, (8, 16)), (2, (5, 5, 7, 7))])
def test_resnet_parameter_count(in_ch, channels):
    net = ResNetNetwork((in_ch, 40), n_outputs=3, channels=channels)
    assert _count(net) == _resnet_params(in_ch, channels or (64, 128, 128), 3)


@pytest.mark.parametrize("in_ch, channels", [(1, None), (3, (4, 4, 4, 4)), (2, (8,))])
def test_inception_parameter_count_and_kernels(in_ch, channels):
    net = InceptionNetwork((in_ch, 40), n_outputs=2, channels=channels)
    assert _count(net) == _inception_params(in_ch, channels or (32,) * 6, 2)
    block = net.trunk.block0
    assert [c.kernel_size[0] for c in block.convs] == [39, 19, 9]
    assert isinstance(block.bottleneck, nn.Conv1d if in_ch > 1 else nn.Identity)


@pytest.mark.parametrize("network, branch", [
    (ResNetNetwork, "trunk.block2.shortcut.norm"),
    (ResNetNetwork, "trunk.block0.shortcut.norm"),
    (InceptionNetwork, "trunk.shortcut0.proj.norm"),
    (InceptionNetwork, "trunk.shortcut1.proj.norm"),
])
def test_residual_connections_are_used(network, branch):
    torch.manual_seed(0)
    net = network((2, 24), 3).eval()
    x = torch.randn(4, 2, 24)
    with torch.no_grad():
        before = net(x)
        norm = net.get_submodule(branch)
        norm.weight.zero_()
        norm.bias.zero_()
        after = net(x)
    assert not torch.allclose(before, after)


def _padded(series, length):
    out = torch.full((len(series), series[0].shape[0], length), float("nan"))
    for i, s in enumerate(series):
        out[i, :, :s.shape[1]] = s
    return out


@pytest.mark.parametrize("network", NETWORKS)
def test_padding_never_changes_a_prediction(network):
    torch.manual_seed(0)
    net = network((2, 40), 3, channels=(8, 8, 8, 8), variable_length=True)
    series = [torch.randn(2, n) for n in (13, 40, 27, 33)]
    net.train()
    with torch.no_grad():  # moves the running statistics off their defaults
        for _ in range(3):
            net(_padded(series, 40))
    net.eval()
    with torch.no_grad():
        batch = net(_padded(series, 40))
        for i, s in enumerate(series):
            alone = net(s[None])
            torch.testing.assert_close(batch[i], alone[0], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(batch).all()


@pytest.mark.parametrize("network", NETWORKS)
def test_padding_is_left_out_of_batch_norm_statistics(network):
    torch.manual_seed(0)
    a = network((2, 30), 2, channels=(4, 4, 4), variable_length=True)
    b = network((2, 30), 2, channels=(4, 4, 4), variable_length=True)
    b.load_state_dict(a.state_dict())
    series = [torch.randn(2, n) for n in (11, 20)]
    a.train(), b.train()
    out_short = a(_padded(series, 20))
    out_long = b(_padded(series, 30))  # more padding, same real positions
    torch.testing.assert_close(out_short, out_long, atol=1e-5, rtol=1e-5)
    for (name, x), (_, y) in zip(a.named_buffers(), b.named_buffers()):
        torch.testing.assert_close(x, y, atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("network", NETWORKS)
def test_max_pooling_and_options(network):
    net = network((1, 16), 2, channels=(4,), batch_norm=False, global_pool="max")
    assert not any(isinstance(m, nn.BatchNorm1d) for m in net.modules())
    assert net(torch.randn(3, 1, 16)).shape == (3, 2)
    with pytest.raises(ValueError, match="global_pool"):
        network((1, 16), 2, global_pool="flatten")
    with pytest.raises(ValueError, match=r"input_shape must be \(C, L\)"):
        network((1, 8, 8), 2)


def test_masked_max_pooling_never_picks_padding():
    # a series of negative values: padding (zeros) would win an unmasked max
    torch.manual_seed(0)
    net = InceptionNetwork((1, 20), 2, channels=(4,), variable_length=True).eval()
    s = -1 - torch.rand(1, 9)
    with torch.no_grad():
        torch.testing.assert_close(net(_padded([s], 20)), net(s[None]), atol=1e-5, rtol=1e-5)


def test_vectorised_under_vmap():
    # MAML's inner loop maps the network over tasks
    from torch.func import functional_call, vmap

    net = ResNetNetwork((1, 12), 2, channels=(4,), batch_norm=False)
    params = dict(net.named_parameters())
    x = torch.randn(3, 5, 1, 12)
    out = vmap(lambda xi: functional_call(net, params, (xi,)))(x)
    assert out.shape == (3, 5, 2)
    np.testing.assert_allclose(out[1].detach().numpy(), net(x[1]).detach().numpy(),
                               atol=1e-5)
