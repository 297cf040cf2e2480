"""Losses for networks with a member axis (deep ensembles)."""

from torch import nn
from torch.nn import functional as F


class MemberCrossEntropy(nn.Module):
    """Cross-entropy of every member: logits ``(B, M, K)``, labels ``(B,)`` -> ``(B, M)``."""

    def forward(self, logits, y):
        return F.cross_entropy(logits.transpose(1, 2),
                               y[:, None].expand(-1, logits.shape[1]), reduction="none")
