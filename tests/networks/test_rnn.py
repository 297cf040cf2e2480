import pytest
import torch

from sklearn_mlarch.networks import RNNNetwork


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes(cell, bidirectional):
    net = RNNNetwork(3, 2, cell=cell, hidden_size=5, num_layers=2,
                     bidirectional=bidirectional, hidden_sizes=(4,))
    x = torch.randn(6, 7, 3)
    assert net(x).shape == (6, 2)
    assert net.embed(x).shape == (6, 4)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_nan_padding_does_not_change_output(bidirectional):
    torch.manual_seed(0)
    net = RNNNetwork(2, 3, cell="lstm", hidden_size=4, bidirectional=bidirectional).eval()
    seq = torch.randn(1, 5, 2)
    padded = torch.cat([seq, torch.full((1, 3, 2), float("nan"))], dim=1)
    other = torch.randn(1, 8, 2)  # a full-length neighbour in the same batch
    out = net(torch.cat([padded, other]))
    torch.testing.assert_close(out[:1], net(seq))
    torch.testing.assert_close(out[1:], net(other))


def test_unknown_cell():
    with pytest.raises(ValueError, match="cell"):
        RNNNetwork(2, 2, cell="transformer")
