"""Batch norm's statistics for prediction, computed for the final weights.

The running averages that training keeps mix batches taken while the weights
still moved (a momentum of 0.1 weighs about the last ten batches). On small
data sets a network whose training loss is near zero can then predict at
chance: ResNet on OSULeaf after 60 epochs had 0.64 of its own training
samples right with the running averages and 1.0 with statistics computed
for its final weights (``benchmarks/RESULTS.md``). At the end of each fit,
as ``torch.optim.swa_utils.update_bn`` does for averaged weights, the
statistics are reset and averaged anew over the training rows.

The running averages are kept aside on the net (``running_averages_``) and
the next warm start trains on from them, so ``k`` epochs then ``m`` more
still equal ``k + m``. Each training call computes the statistics over the
rows it is given: ``partial_fit`` on chunks gives those of the last chunk
(for data larger than memory, fit a :class:`~sklearn_mlarch.Streamed`
source, all of whose rows are read). Callbacks' ``on_train_end`` sees the
final statistics; the epochs' validation scores were computed with the
running averages.
"""

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from .data import ArrayDataset, BatchIterator


_RUNNING = ("running_mean", "running_var", "num_batches_tracked")


def training_norms(net):
    """``(name, module)`` of the batch norms that learn statistics.

    Those that ``train()`` leaves in evaluation mode (a module of yours that
    keeps pre-trained statistics so), a frozen block's and those of
    ``momentum=0`` keep theirs.
    """
    module = net.module_
    modes = _modes(module)
    module.train()
    frozen = set(getattr(net, "frozen_norms_", ()))
    norms = [(name, m) for name, m in module.named_modules()
             if isinstance(m, _BatchNorm) and m.track_running_stats and m.training
             and m.momentum != 0 and name not in frozen]
    _restore_modes(modes)
    return norms


def _modes(module):
    return [(m, m.training) for m in module.modules()]


def _restore_modes(modes):
    for m, training in modes:
        m.training = training


def recompute_norm_statistics(net, dataset, seed):
    """Average the batch norms' statistics anew over the training rows of ``dataset``.

    The rows ``net.train_split`` trains on (the validation rows of early
    stopping are left out), in batches of ``net.batch_size`` (a last batch
    of one row joins the one before), in an order drawn from ``seed``,
    without dropout or augmentation; rows streamed from a source are read
    once more. Episodes (meta-learning) keep the running averages.
    """
    if not isinstance(dataset, ArrayDataset) or not len(dataset):
        return
    norms = training_norms(net)
    if not norms:
        return
    if net.train_split is not None:
        dataset = net.train_split(dataset)[0]
    vars(net)["running_averages_"] = {
        name: {k: getattr(m, k).detach().to("cpu", copy=True) for k in _RUNNING}
        for name, m in norms}
    size = len(dataset) if net.batch_size in (-1, None) else net.batch_size
    batches = BatchIterator(dataset, size, shuffle=True, merge_single=True,
                            generator=torch.Generator().manual_seed(seed))
    module = net.module_
    modes, momenta = _modes(module), [m.momentum for _, m in norms]
    module.eval()  # no dropout; only the norms gather statistics
    try:
        for _, m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches
            m.train()
        with torch.no_grad():
            for batch in batches:
                net.infer(batch[0].to(net.device, non_blocking=True))
    finally:
        for (_, m), momentum in zip(norms, momenta):
            m.momentum = momentum
        _restore_modes(modes)


def resume_running_averages(net):
    """Put back the running averages that training left, before training on."""
    with torch.no_grad():
        for name, state in vars(net).pop("running_averages_", {}).items():
            norm = net.module_.get_submodule(name)
            for key, value in state.items():
                getattr(norm, key).copy_(value)
