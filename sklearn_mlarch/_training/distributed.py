"""Data-parallel training of one network over processes, with torch's DDP.

A fit is data-parallel when it starts inside an initialised
``torch.distributed`` process group of more than one process (``torchrun``
launches, or :func:`sklearn_mlarch.distributed.fit_distributed`): every
process fits the same estimator on the same data with the same seed.

Every process then iterates the same global batches (the batch iterator is
seeded identically everywhere) and trains on a contiguous slice of each:
process ``r`` of ``w`` takes rows ``[r n // w, (r + 1) n // w)`` of a batch of
``n``. The objectives' loss is a mean over the rows of a batch (of weight
times loss, :func:`~sklearn_mlarch._training.objectives.scaled_mean`), so a
process's loss over its ``n_r`` rows, times ``w n_r / n``, has a gradient
whose average over the processes (what DDP's all-reduce computes) is the
gradient of the whole batch's loss. The loss recorded in the history is the
whole batch's (one more all-reduce of a scalar), so the learning-rate
schedule, divergence guard and early stopping decide alike in every process,
as they would in one.

What cannot be exact is refused: episodes (meta-learning), batches smaller
than the number of processes, LBFGS (its closure re-evaluates the loss),
objectives whose loss is not a mean over rows (multi-task) or that learn
parameters outside the network, and processes whose data or seed differ.
Batch normalisation keeps per-process statistics (DDP's default) and dropout
draws other masks than one process would: both train correctly but do not
reproduce a one-process fit.
"""

import math

import torch
from skorch.utils import to_tensor

from .objectives import CrossEntropyObjective, Objective

# objectives whose forward is a (weighted) mean over the rows of a batch
_ROW_MEAN_FORWARDS = (Objective.forward, CrossEntropyObjective.forward)


def world():
    """``(rank, world_size)`` of the running process group, or None outside one
    (or in a group of one process)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return dist.get_rank(), dist.get_world_size()


def check_supported(net, dataset, world_size):
    """Raise ValueError where a data-parallel fit of ``net`` could not be exact."""
    fix = "; or fit in one process"
    if hasattr(dataset, "make_iterator"):
        raise ValueError("Data-parallel training splits batches of samples, not the episodes "
                         "of meta-learning: fit meta-learning estimators in one process.")
    if isinstance(net.optimizer_, torch.optim.LBFGS):
        raise ValueError("optimizer=LBFGS re-evaluates the loss inside its step, which "
                         "data-parallel training cannot share among processes: use another "
                         f"optimizer (adam, sgd){fix}.")
    batch_size = net.batch_size if net.batch_size > 0 else len(dataset)
    if batch_size < world_size:
        raise ValueError(f"batch_size={batch_size} is smaller than the {world_size} processes "
                         f"that share each batch: pass batch_size >= {world_size}{fix}.")
    n_train = _training_size(net, len(dataset))
    if n_train < world_size:
        raise ValueError(f"{n_train} training samples cannot be shared among {world_size} "
                         "processes: pass more samples, a smaller validation_fraction or "
                         f"fewer processes{fix}.")
    batch_size = min(batch_size, n_train)
    last = n_train % batch_size
    if last == 1 and n_train > batch_size:
        last = 0  # the engine merges a last batch of one into the one before
    if 0 < last < world_size:
        raise ValueError(
            f"The {n_train} training samples leave a last batch of {last} "
            f"(batch_size={batch_size}), too few to share among {world_size} processes: pass "
            f"a batch_size whose remainder is 0 or at least {world_size}{fix}.")
    criterion = net.criterion_
    if type(criterion).forward not in _ROW_MEAN_FORWARDS:
        raise ValueError(f"The loss of {type(criterion).__name__} is not a mean over the rows "
                         "of a batch (multi-task losses average each task over its labelled "
                         "rows), so a batch split among processes cannot reproduce it: fit "
                         "this estimator in one process.")
    if any(p.requires_grad for p in criterion.parameters()):
        raise ValueError(f"{type(criterion).__name__} learns parameters outside the network "
                         "(weighting='uncertainty'), which DDP does not synchronise: use "
                         f"fixed task weights{fix}.")


def _training_size(net, n):
    """The number of samples trained on once ``net.train_split`` held some out."""
    fraction = getattr(net.train_split, "fraction", None)
    if fraction is None:
        return n
    return n - math.ceil(fraction * n)  # as train_test_split sizes a float test_size


def start(net, dataset):
    """Set ``net`` up for a data-parallel fit when a process group is running.

    Checks that the fit can be exact and that every process has the same data
    and seed, and silences progress outside rank 0. A no-op outside a group.
    """
    where = world()
    if where is None:
        return
    rank, world_size = where
    check_supported(net, dataset, world_size)
    dist = torch.distributed
    device = net.device if dist.get_backend() == "nccl" else "cpu"
    # the same seed, data and batch size everywhere: max of (v, -v) over ranks
    mine = torch.tensor([net.seed, len(dataset), net.batch_size, *_fingerprint(dataset)],
                        dtype=torch.float64)
    both = torch.cat([mine, -mine]).to(device)
    dist.all_reduce(both, op=dist.ReduceOp.MAX)
    k = len(mine)
    high, low = both[:k].cpu(), -both[k:].cpu()
    if not torch.equal(high, low):
        raise ValueError(
            "The processes of a data-parallel fit disagree on the seed, the number of samples, "
            "the batch size or the data (its targets and first and last rows): fit the same "
            "data with "
            "the same estimator, and an int random_state, in every process.")
    vars(net)["ddp_"] = _State(rank, world_size, net.verbose)
    if rank > 0:
        net.verbose = 0  # progress is printed once, by rank 0


def _fingerprint(dataset):
    """Sums of the targets (weighted by position) and of the first and last rows:
    processes that hold different data disagree on them."""
    y = getattr(dataset, "y", None)
    y = torch.zeros(1) if y is None else torch.nan_to_num(y.double().reshape(len(y), -1))
    position = torch.arange(1, len(y) + 1, dtype=torch.float64).reshape(-1, 1)
    ends = dataset.X[[0, len(dataset) - 1]] if len(dataset) else torch.zeros(1)
    return [float(y.sum()), float((y * position).sum()),
            float(torch.nan_to_num(ends.double()).sum())]


def stop(net):
    """Undo :func:`start`: drop the DDP wrapper, restore ``verbose``."""
    state = vars(net).pop("ddp_", None)
    if state is not None:
        net.verbose = state.verbose


class _State:
    def __init__(self, rank, world_size, verbose):
        self.rank, self.world_size, self.verbose = rank, world_size, verbose
        self.module = self.trainable = None

    def wrapped(self, net):
        """The DDP wrapper of ``net.module_``, rebuilt when the trainable
        parameters change (freezing, unfreezing), as DDP fixes them when built."""
        trainable = tuple(p.requires_grad for p in net.module_.parameters())
        if self.module is None or trainable != self.trainable or \
                self.module.module is not net.module_:
            device = torch.device(net.device)
            ids = None
            if device.type == "cuda":
                ids = [device.index if device.index is not None
                       else torch.cuda.current_device()]
            self.module = torch.nn.parallel.DistributedDataParallel(net.module_, device_ids=ids)
            self.trainable = trainable
        return self.module


def _rows(value, a, b):
    return None if value is None else value[a:b]


def train_step(net, batch, **fit_params):
    """One data-parallel forward and backward of ``net`` on this process's rows.

    Returns skorch's step dict with the loss of the whole batch and the
    predictions of this process's rows.
    """
    state = net.ddp_
    net._set_training(True)
    Xi, yi = batch
    n, w = len(Xi), state.world_size
    if n < w:
        raise ValueError(f"A training batch of {n} samples cannot be shared among {w} "
                         f"processes: pass a batch_size and a number of samples whose batches "
                         f"all hold at least {w} samples.")
    a, b = state.rank * n // w, (state.rank + 1) * n // w
    y_pred = state.wrapped(net)(to_tensor(Xi[a:b], device=net.device), **fit_params)
    loss = net.get_loss(y_pred, yi[a:b], X=Xi[a:b], training=True,
                        sample_weight=_rows(getattr(batch, "sample_weight", None), a, b))
    # DDP averages the gradients over the w processes: w * n_r / n makes the
    # average the gradient of the whole batch's mean loss
    loss = loss * (w * (b - a) / n)
    net.criterion_.backward(loss, net.module_)
    total = loss.detach().clone()
    torch.distributed.all_reduce(total)
    return {"loss": total / w, "y_pred": y_pred}
