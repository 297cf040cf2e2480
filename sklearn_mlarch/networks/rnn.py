"""Recurrent network (LSTM, GRU or plain RNN) for sequences ``(T, F)`` or ``(C, L)``."""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .blocks import dense_blocks, positive_ints

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
_LAYOUTS = ("NTF", "NCL")


class _LastHidden(nn.Module):
    """Run a recurrent layer and return the final hidden state of each sequence.

    Time steps whose features are all NaN are padding: they must come after
    the real steps. Such batches are packed, so padding never reaches the
    recurrent cell and cannot change the result. ``layout='NCL'`` batches,
    ``(N, C, L)``, are transposed to the cell's ``(N, T, F)`` first.
    """

    def __init__(self, cell, n_features, hidden_size, num_layers, bidirectional, dropout,
                 layout="NTF"):
        super().__init__()
        self.layout = layout
        self.rnn = _CELLS[cell](
            n_features, hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        self.out_features = hidden_size * (2 if bidirectional else 1)

    def forward(self, x):
        if self.layout == "NCL":
            x = x.transpose(1, 2)
        padded = torch.isnan(x).all(dim=-1)
        if padded.any():
            lengths = (~padded).sum(dim=1).cpu()
            x = pack_padded_sequence(torch.nan_to_num(x), lengths, batch_first=True,
                                     enforce_sorted=False)
        _, h = self.rnn(x)
        if isinstance(h, tuple):  # LSTM returns (h_n, c_n)
            h = h[0]
        # h: (num_layers * directions, batch, hidden); keep the last layer.
        directions = 2 if self.rnn.bidirectional else 1
        last = h[-directions:]
        return last.transpose(0, 1).reshape(last.shape[1], -1)


class RNNNetwork(nn.Module):
    """Recurrent layers, then dense layers and a linear head.

    The trunk holds named blocks ``rnn, dense0, dense1, ...``.

    Parameters
    ----------
    n_features : int
        Features per time step ``F`` (channels ``C``).
    n_outputs : int
        Size of the output (logits or regression targets).
    cell : {'lstm', 'gru', 'rnn'}, default='lstm'
        Recurrent cell type.
    hidden_size : int, default=64
        Units of each recurrent layer (per direction).
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Whether to read the sequence in both directions.
    dropout : float, default=0.0
        Dropout between recurrent layers and after each hidden dense layer.
    hidden_sizes : sequence of int, default=()
        Dense layers between the final hidden state and the head.
    layout : {'NTF', 'NCL'}, default='NTF'
        Axes of an input batch: ``(N, T, F)`` (batch, time steps, features),
        or ``(N, C, L)`` (batch, channels, length), the layout of the
        estimators and of :class:`CNNNetwork`, transposed inside.

    Examples
    --------
    >>> import torch
    >>> net = RNNNetwork(n_features=3, n_outputs=2, cell="gru")
    >>> net(torch.zeros(4, 10, 3)).shape
    torch.Size([4, 2])
    >>> [name for name, _ in net.named_children()]
    ['trunk', 'head']
    >>> RNNNetwork(n_features=3, n_outputs=2, layout="NCL")(torch.zeros(4, 3, 10)).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_features, n_outputs, cell="lstm", hidden_size=64, num_layers=1,
                 bidirectional=False, dropout=0.0, hidden_sizes=(), layout="NTF"):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if layout not in _LAYOUTS:
            raise ValueError(f"layout must be one of {list(_LAYOUTS)}, got {layout!r}")
        n_features, hidden_size, num_layers = (
            positive_ints(v, name)[0] for v, name in [(n_features, "n_features"),
                                                     (hidden_size, "hidden_size"),
                                                     (num_layers, "num_layers")])
        recurrent = _LastHidden(cell, n_features, hidden_size, num_layers,
                                bidirectional, dropout, layout)
        dense, width = dense_blocks(recurrent.out_features, hidden_sizes, dropout)
        self.trunk = nn.Sequential(OrderedDict([("rnn", recurrent)] + dense))
        self.out_features = width
        self.head = nn.Linear(width, n_outputs)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``, ``(N, T, F)`` or ``(N, C, L)``."""
        return self.trunk(x)

    def forward(self, x):
        return self.head(self.trunk(x))
