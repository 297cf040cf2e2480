"""Objectives: what a network's output is trained against, stated explicitly.

An estimator hands the engine one objective. The objective owns the
per-sample criterion and every reduction: over the samples of a batch
(weighted by ``sample_weight``), over ensemble members (``member_axis``) and,
in subclasses, over tasks with per-task masks. The engine never looks at
tensor shapes to decide what a loss means.

An objective is a ``torch.nn.Module`` so that one with learnable parameters
(uncertainty task weights, for instance) is trained by the same optimizer.
"""

import torch
from torch import nn
from torch.nn import functional as F


def weighted_mean(loss, sample_weight=None):
    """Mean of per-sample ``loss`` over the batch axis, weighted per sample.

    ``loss`` is ``(B,)`` or ``(B, M)`` (M members, each with its own mean;
    the members' means are summed so each gets the gradient it would get
    alone). ``sample_weight`` is None, ``(B,)`` or ``(B, M)``. A batch whose
    weights are all zero contributes zero, not NaN.

    Examples
    --------
    >>> import torch
    >>> weighted_mean(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0]))
    tensor(1.5000)
    """
    if sample_weight is None:
        return loss.mean() if loss.ndim == 1 else loss.mean(0).sum()
    w = sample_weight.to(loss.dtype)
    if w.ndim < loss.ndim:
        w = w.reshape(w.shape + (1,) * (loss.ndim - w.ndim)).expand_as(loss)
    tiny = torch.finfo(loss.dtype).tiny
    return ((loss * w).sum(0) / w.sum(0).clamp_min(tiny)).sum()


class Objective(nn.Module):
    """Base objective: per-sample loss, weighted mean over the batch.

    Subclasses implement :meth:`per_sample` and may override
    :meth:`output_transform` (what ``predict_proba`` returns) and
    :meth:`decode` (predictions comparable with the training targets, used
    by skorch scorers such as ``EpochScoring('accuracy')``).

    Parameters
    ----------
    member_axis : bool, default=False
        The output has a member axis after the batch axis, ``(B, M, ...)``:
        every member is trained on its own weighted mean (deep ensembles).
    """

    def __init__(self, member_axis=False):
        super().__init__()
        self.member_axis = member_axis

    def per_sample(self, output, y):
        """Loss of each sample, ``(B,)``, or ``(B, M)`` with a member axis."""
        raise NotImplementedError

    def forward(self, output, y, sample_weight=None):
        return weighted_mean(self.per_sample(output, y), sample_weight)

    def output_transform(self, output):
        return output

    def decode(self, transformed):
        return transformed


class CrossEntropyObjective(Objective):
    """Cross-entropy of logits ``(B, K)`` (or ``(B, M, K)``) against labels ``(B,)``.

    ``output_transform`` is the softmax; ``decode`` the most probable class
    (of the members' mean probabilities with a member axis).
    """

    def per_sample(self, output, y):
        if self.member_axis:
            return F.cross_entropy(output.transpose(1, 2),
                                   y[:, None].expand(-1, output.shape[1]), reduction="none")
        return F.cross_entropy(output, y, reduction="none")

    def output_transform(self, output):
        return torch.softmax(output, dim=-1)

    def decode(self, transformed):
        if self.member_axis:
            transformed = transformed.mean(axis=1)
        return transformed.argmax(axis=-1)


class SquaredErrorObjective(Objective):
    """Squared error averaged over the outputs of each sample: ``(B, D)`` -> ``(B,)``."""

    def per_sample(self, output, y):
        err = (output - y.reshape(output.shape)) ** 2
        return err.flatten(1).mean(1) if err.ndim > 1 else err
