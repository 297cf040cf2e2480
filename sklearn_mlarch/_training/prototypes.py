"""Prototypical networks: classify a query by its nearest class mean in an embedding.

:class:`PrototypicalModule` wraps a network for the training engine: its
forward takes a meta-batch of episodes, embeds support and query rows with
the network's trunk (``network.embed``), averages each class's support
embeddings into a prototype and returns, for each query row, the negative
squared Euclidean distances to the prototypes of its episode: logits that
an ordinary cross-entropy objective trains (Snell, Swersky and Zemel,
"Prototypical Networks for Few-shot Learning", NeurIPS 2017).
"""

import torch
from torch import nn
from torch.nn import functional as F


def squared_distances(queries, prototypes):
    """``(..., m, N)`` squared Euclidean distances of ``(..., m, D)`` rows to ``(..., N, D)``."""
    return ((queries * queries).sum(-1, keepdim=True)
            - 2 * queries @ prototypes.transpose(-1, -2)
            + (prototypes * prototypes).sum(-1)[..., None, :]).clamp_min(0)


def class_means(embeddings, codes, n_classes):
    """``(..., N, D)`` mean embedding of each class code ``0..N-1`` of ``(..., n)`` codes."""
    onehot = F.one_hot(codes, n_classes).to(embeddings.dtype)  # (..., n, N)
    sums = onehot.transpose(-1, -2) @ embeddings
    return sums / onehot.sum(-2)[..., None].clamp_min(1)


class PrototypicalModule(nn.Module):
    """A network whose forward scores each query row against its episode's prototypes.

    Parameters
    ----------
    network : torch.nn.Module
        Has ``embed(x)``, the features of a batch (its trunk); its head is
        not used.

    Notes
    -----
    ``forward(support_X, support_y, query_X)`` takes tensors with a leading
    task axis ``(T, n, ...)``; every task has the classes ``0..N-1``. All
    rows of the meta-batch are embedded in one batch (batch norm trains on
    its statistics and predicts with its running ones, as usual). Returns
    ``(T * m, N)`` logits.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mlarch.networks import MLPNetwork
    >>> module = PrototypicalModule(MLPNetwork(4, 1, hidden_sizes=(8,)))
    >>> module(torch.zeros(2, 6, 4), torch.tensor([[0, 0, 1, 1, 2, 2]] * 2),
    ...        torch.zeros(2, 9, 4)).shape
    torch.Size([18, 3])
    """

    def __init__(self, network, n_classes=None):
        super().__init__()
        self.network = network
        self.n_classes = n_classes  # None: read from the labels (a device sync per batch)

    def forward(self, support_X, support_y, query_X):
        T, n, m = support_X.shape[0], support_X.shape[1], query_X.shape[1]
        rows = torch.cat([support_X.reshape(T * n, *support_X.shape[2:]),
                          query_X.reshape(T * m, *query_X.shape[2:])])
        embedded = self.network.embed(rows)
        support = embedded[:T * n].reshape(T, n, -1)
        query = embedded[T * n:].reshape(T, m, -1)
        n_classes = self.n_classes if self.n_classes is not None else int(support_y.max()) + 1
        logits = -squared_distances(query, class_means(support, support_y, n_classes))
        return logits.reshape(T * m, n_classes)


def build_prototypical_module(network, network_kwargs, n_classes=None):
    """The wrapped estimator's network (its head unused) in a :class:`PrototypicalModule`
    for episodes of ``n_classes`` ways."""
    return PrototypicalModule(network(**dict(network_kwargs, n_outputs=1)), n_classes)
