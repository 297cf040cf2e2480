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
    net = CNNNetwork((1, 4, 4), n_outputs=2, channels=(2,), batch_norm=False)
    params = dict(net.named_parameters())
    x = torch.randn(5, 1, 4, 4)
    out = torch.func.functional_call(net, params, (x,))
    torch.testing.assert_close(out, net(x))
