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

from ..networks.random import current_generator


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


def scaled_mean(loss, sample_weight=None):
    """Mean over the batch axis of ``loss`` times ``sample_weight``.

    The training loss with sample weights. The estimators scale the weights
    to a mean of 1 over the training set, so each batch's loss is an
    unbiased estimate of the training set's weighted mean loss. (Normalising
    by each batch's own weight sum would not be: a batch holding only light
    samples would then pull as hard as one of heavy samples.) ``loss`` is
    ``(B,)`` or ``(B, M)``, members summed as in :func:`weighted_mean`.

    Examples
    --------
    >>> import torch
    >>> scaled_mean(torch.tensor([1.0, 3.0]), torch.tensor([0.5, 0.5]))
    tensor(1.)
    """
    if sample_weight is None:
        return loss.mean() if loss.ndim == 1 else loss.mean(0).sum()
    w = sample_weight.to(loss.dtype)
    if w.ndim < loss.ndim:
        w = w.reshape(w.shape + (1,) * (loss.ndim - w.ndim))
    return (loss * w).mean(0).sum()


class Objective(nn.Module):
    """Base objective: per-sample loss, the mean of weight times loss over the batch.

    Subclasses implement :meth:`per_sample` and may override
    :meth:`output_transform` (what ``predict_proba`` returns) and
    :meth:`decode` (predictions comparable with the training targets, used
    by skorch scorers such as ``EpochScoring('accuracy')``).

    Parameters
    ----------
    member_axis : bool, default=False
        The output has a member axis after the batch axis, ``(B, M, ...)``:
        every member is trained on its own weights (deep ensembles).
    """

    #: the name of :meth:`score` in the history (``valid_<score_name>``), or None
    score_name = None

    def __init__(self, member_axis=False):
        super().__init__()
        self.member_axis = member_axis

    def per_sample(self, output, y):
        """Loss of each sample, ``(B,)``, or ``(B, M)`` with a member axis."""
        raise NotImplementedError

    def forward(self, output, y, sample_weight=None):
        return scaled_mean(self.per_sample(output, y), sample_weight)

    def backward(self, loss, module):
        """Compute the gradients of ``loss`` (a hook for gradient surgery)."""
        loss.backward()

    def output_transform(self, output):
        return output

    def decode(self, transformed):
        return transformed

    def score(self, output, y):
        """A score of the outputs ``output`` of a batch against ``y`` (greater is
        better), as a float: shown by ``verbose`` on the validation rows."""
        raise NotImplementedError


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

    def forward(self, output, y, sample_weight=None):
        if sample_weight is None and not self.member_axis:
            return F.cross_entropy(output, y)  # the plain mean: one fused kernel
        return super().forward(output, y, sample_weight)

    def output_transform(self, output):
        return torch.softmax(output, dim=-1)

    def decode(self, transformed):
        if self.member_axis:
            transformed = transformed.mean(axis=1)
        return transformed.argmax(axis=-1)

    score_name = "acc"

    def score(self, output, y):
        """Accuracy (of the members' mean probabilities with a member axis)."""
        predicted = self.decode(self.output_transform(output))
        return float((predicted == y.reshape(predicted.shape)).double().mean())


class SquaredErrorObjective(Objective):
    """Squared error averaged over the outputs of each sample: ``(B, D)`` -> ``(B,)``."""

    def per_sample(self, output, y):
        if self.member_axis:  # (B, M, D) against (B, D): (B, M)
            return ((output - y.reshape(len(y), 1, -1)) ** 2).mean(2)
        err = (output - y.reshape(output.shape)) ** 2
        return err.flatten(1).mean(1) if err.ndim > 1 else err

    score_name = "r2"

    def score(self, output, y):
        """R², averaged over the outputs (of the members' mean with a member axis).

        As :func:`sklearn.metrics.r2_score`; unchanged by the standardisation
        of the targets, which applies to the outputs and ``y`` alike.
        """
        if self.member_axis:
            output = output.mean(axis=1)
        output = output.reshape(len(output), -1).double()
        y = y.reshape(output.shape).double()
        residual = (y - output).square().sum(0)
        total = (y - y.mean(0)).square().sum(0)
        r2 = torch.where(total > 0, 1 - residual / total.clamp_min(1e-300),
                         (residual == 0).double())  # constant y: 1 if exact, else 0
        return float(r2.mean())


class MultiTaskObjective(Objective):
    """Weighted sum of per-task losses over a tuple of outputs, with missing labels.

    The targets are ``(B, T)``, one column per task, NaN where a task's label
    is missing: that entry is left out of its task's loss only (weight 0), so
    the sample still trains the other tasks; a task with no label in a batch
    contributes 0.

    Parameters
    ----------
    tasks : list of Objective
        One objective per output of the network (its ``per_sample`` is used
        on the task's column).
    weighting : {'equal', 'uncertainty', 'pcgrad'} or sequence of float, default='equal'
        ``'equal'``: the plain sum; a sequence: fixed weights; ``'uncertainty'``:
        learned homoscedastic uncertainty weighting, ``sum exp(-s_t) L_t + s_t``
        with one learned ``s_t`` (log variance) per task (Kendall, Gal and
        Cipolla, CVPR 2018, in the form most implementations use);
        ``'pcgrad'``: the plain sum, but the trunk's gradient is built by
        projecting each task's gradient off the others' where they conflict
        (Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020).
    """

    def __init__(self, tasks, weighting="equal"):
        super().__init__()
        self.tasks = nn.ModuleList(tasks)
        self.weighting = weighting
        if isinstance(weighting, str):
            if weighting not in ("equal", "uncertainty", "pcgrad"):
                raise ValueError("task_weights must be 'equal', 'uncertainty', 'pcgrad' or a "
                                 f"list of one weight per task, got {weighting!r}.")
            weights = torch.ones(len(tasks))
        else:
            try:
                weights = torch.as_tensor([float(w) for w in weighting])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"task_weights must hold numbers, one per task, got "
                                 f"{list(weighting)!r}.") from exc
            if (len(weights) != len(tasks) or not torch.isfinite(weights).all()
                    or (weights < 0).any()):
                raise ValueError(f"task_weights must hold {len(tasks)} finite, non-negative "
                                 f"weights (one per task), got {list(weighting)!r}.")
        self.register_buffer("weights", weights)
        if weighting == "uncertainty":
            self.log_vars = nn.Parameter(torch.zeros(len(tasks)))

    def task_losses(self, outputs, y, sample_weight=None):
        """The loss of each task, ``(T,)``."""
        losses = []
        for t, (task, out) in enumerate(zip(self.tasks, outputs)):
            target = y[:, t]
            labelled = ~torch.isnan(target)
            target = torch.where(labelled, target, torch.zeros_like(target))
            if isinstance(task, CrossEntropyObjective):
                target = target.long()
            loss = task.per_sample(out, target)
            if sample_weight is not None:
                # (B,) or (B, T): each task's weights scaled to a mean of 1 over
                # its labelled rows by the estimator, as in scaled_mean
                w = sample_weight if sample_weight.ndim == 1 else sample_weight[:, t]
                loss = loss * w.to(out.dtype)
            # the mean over labelled entries; a batch without labels gives 0
            losses.append(weighted_mean(loss, None if labelled.all() else labelled))
        return torch.stack(losses)

    def forward(self, outputs, y, sample_weight=None):
        losses = self.task_losses(outputs, y, sample_weight)
        if self.weighting == "pcgrad" and losses.requires_grad:
            self._pending = losses  # for backward; never kept past it (not deep-copyable)
        if self.weighting == "uncertainty":
            return (torch.exp(-self.log_vars) * losses + self.log_vars).sum()
        return (self.weights * losses).sum()

    def output_transform(self, outputs):
        return tuple(task.output_transform(out) for task, out in zip(self.tasks, outputs))

    def decode(self, transformed):
        """``(B, T)``: each task's decoded prediction (class index or value)."""
        columns = [task.decode(out).reshape(len(out), -1)[:, 0].to(torch.float64)
                   for task, out in zip(self.tasks, transformed)]
        return torch.stack(columns, dim=1)

    def backward(self, loss, module):
        if self.weighting != "pcgrad":
            return super().backward(loss, module)
        shared = [p for name, p in module.named_parameters()
                  if name.startswith("trunk.") and p.requires_grad]
        losses = self.__dict__.pop("_pending")
        if not shared:  # a frozen trunk: nothing to project
            return loss.backward()
        grads = [torch.autograd.grad(L, shared, retain_graph=True, allow_unused=True)
                 for L in losses]
        flat = torch.stack([torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                                       for g, p in zip(gs, shared)]) for gs in grads])
        loss.backward()  # the heads' gradients; the trunk's is replaced below
        projected = flat.clone()
        generator = current_generator()
        for i in range(len(flat)):
            order = torch.randperm(len(flat), generator=generator).tolist()
            for j in order:
                if j == i:
                    continue
                dot = projected[i] @ flat[j]
                if dot < 0:
                    projected[i] -= dot / flat[j].square().sum().clamp_min(1e-20) * flat[j]
        total, start = projected.sum(0), 0
        for p in shared:
            p.grad = total[start:start + p.numel()].view_as(p).clone()
            start += p.numel()
