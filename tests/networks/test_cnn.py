import pytest
import torch

from sklearn_mlarch.networks import CNNNetwork


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 5, 7), (2, 16), (1, 1)])
def test_output_and_embedding_shapes(shape):
    net = CNNNetwork(shape, n_outputs=4, channels=(4, 8), hidden_sizes=(6,))
    x = torch.randn(3, *shape)
    assert net(x).shape == (3, 4)
    assert net.embed(x).shape == (3, 6)


def test_pooling_skipped_when_input_too_small():
    net = CNNNetwork((1, 3), n_outputs=2, channels=(2, 2, 2), pool_size=2)
    pools = [m for m in net.modules() if isinstance(m, torch.nn.MaxPool1d)]
    assert len(pools) == 1  # 3 -> 1, then no more pooling
    assert net(torch.randn(2, 1, 3)).shape == (2, 2)


def test_rejects_bad_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        CNNNetwork((8,), n_outputs=2)


def test_usable_functionally_with_torch_func():
    net = CNNNetwork((1, 4, 4), n_outputs=2, channels=(2,), batch_norm=False, dropout=0.0)
    params = dict(net.named_parameters())
    x = torch.randn(5, 1, 4, 4)
    out = torch.func.functional_call(net, params, (x,))
    torch.testing.assert_close(out, net(x))


def test_signal_defaults_are_a_fully_convolutional_network():
    net = CNNNetwork((3, 50), n_outputs=2)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [64, 128, 64]
    assert [c.kernel_size[0] for c in convs] == [7, 5, 3]
    assert not any(isinstance(m, (torch.nn.MaxPool1d, torch.nn.Linear))
                   for m in net.trunk.modules())
    assert net.architecture["global_pool"] == "avg" and net.out_features == 64
    # global pooling: the same weights read a signal of any length
    assert net(torch.randn(2, 3, 20)).shape == net(torch.randn(2, 3, 500)).shape == (2, 2)


def test_image_defaults_flatten_into_a_dense_layer():
    net = CNNNetwork((1, 8, 8), n_outputs=10)
    assert net.architecture["channels"] == (32, 64)
    assert net.architecture["hidden_sizes"] == (128,)
    assert net.out_features == 128


@pytest.mark.parametrize("channels, kernels", [((16,), (7,)), ((4, 4, 4, 4), (7, 5, 3, 3))])
def test_signal_kernel_defaults_follow_the_number_of_blocks(channels, kernels):
    net = CNNNetwork((1, 30), n_outputs=2, channels=channels)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv1d)]
    assert tuple(c.kernel_size[0] for c in convs) == kernels


@pytest.mark.parametrize("mode, reduce", [("avg", torch.mean), ("max", torch.amax)])
def test_global_pool_modes(mode, reduce):
    net = CNNNetwork((2, 6, 6), n_outputs=3, channels=(4,), hidden_sizes=(),
                     global_pool=mode, batch_norm=False, dropout=0.0)
    x = torch.randn(5, 2, 6, 6)
    conv_out = net.trunk.conv0(x)
    torch.testing.assert_close(net.embed(x), reduce(conv_out, dim=(2, 3)))


def test_rejects_unknown_global_pool():
    with pytest.raises(ValueError, match="global_pool"):
        CNNNetwork((1, 10), n_outputs=2, global_pool="mean")


# ------------------------------------------------ series of different lengths
def _padded(series):
    out = torch.full((len(series), series[0].shape[0], max(s.shape[1] for s in series)),
                     float("nan"))
    for i, s in enumerate(series):
        out[i, :, :s.shape[1]] = s
    return out


@pytest.mark.parametrize("pool_size, global_pool", [(1, "avg"), ((2, 1), "max")])
def test_variable_length_series_give_what_they_give_alone(pool_size, global_pool):
    torch.manual_seed(0)
    net = CNNNetwork((2, 30), n_outputs=3, channels=(4, 6), pool_size=pool_size,
                     global_pool=global_pool, dropout=0.0, variable_length=True)
    series = [torch.randn(2, n) for n in (30, 17, 9, 30)]
    net.train()
    net(_padded(series))  # moves the running statistics away from their start
    net.eval()
    with torch.no_grad():
        together = net(_padded(series))
        alone = torch.cat([net(s[None]) for s in series])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_masked_batch_norm_counts_only_real_positions():
    torch.manual_seed(0)
    masked = CNNNetwork((3, 12), n_outputs=2, channels=(5,), variable_length=True)
    plain = CNNNetwork((3, 12), n_outputs=2, channels=(5,))
    plain.load_state_dict(masked.state_dict())
    series = [torch.randn(3, 12), torch.randn(3, 7)]
    masked.train(), plain.train()
    masked(_padded(series))
    # the real positions alone, as one batch of two series of 12 and 7 steps,
    # give the same statistics as the plain layer over their concatenation
    conv = plain.trunk.conv0.conv
    with torch.no_grad():
        outputs = torch.cat([conv(s[None])[0] for s in series], dim=1)  # (5, 19)
    norm = masked.trunk.conv0.norm
    expected_mean = 0.9 * 0 + 0.1 * outputs.mean(dim=1)
    expected_var = 0.9 * 1 + 0.1 * outputs.var(dim=1, unbiased=True)
    torch.testing.assert_close(norm.running_mean, expected_mean)
    torch.testing.assert_close(norm.running_var, expected_var)
    assert int(norm.num_batches_tracked) == 1


def test_variable_length_needs_signals_and_global_pooling():
    with pytest.raises(ValueError, match="variable_length=True needs signals"):
        CNNNetwork((1, 8, 8), n_outputs=2, variable_length=True)
    with pytest.raises(ValueError, match="global_pool 'avg' or 'max'"):
        CNNNetwork((1, 20), n_outputs=2, global_pool="flatten", variable_length=True)
