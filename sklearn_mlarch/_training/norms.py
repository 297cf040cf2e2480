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
still equal ``k + m``.
"""

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from .data import ArrayDataset, BatchIterator


def training_norms(net):
    """``(name, module)`` of the batch norms that learn statistics (a frozen
    block's keep theirs)."""
    frozen = set(getattr(net, "frozen_norms_", ()))
    return [(name, m) for name, m in net.module_.named_modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats and name not in frozen]


def recompute_norm_statistics(net, dataset, seed):
    """Average the batch norms' statistics anew over the rows of ``dataset``.

    In batches of ``net.batch_size`` (a last batch of one row joins the one
    before), in an order drawn from ``seed``, without dropout or
    augmentation; rows streamed from a source are read once more. Episodes
    (meta-learning) keep the running averages.
    """
    norms = training_norms(net)
    if not norms or not isinstance(dataset, ArrayDataset) or not len(dataset):
        return
    vars(net)["running_averages_"] = {
        name: {k: v.detach().to("cpu", copy=True) for k, v in m.state_dict().items()}
        for name, m in norms}
    size = len(dataset) if net.batch_size in (-1, None) else net.batch_size
    batches = BatchIterator(dataset, size, shuffle=True, merge_single=True,
                            generator=torch.Generator().manual_seed(seed))
    module = net.module_
    was_training, momenta = module.training, [m.momentum for _, m in norms]
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
        module.train(was_training)
        if was_training:
            for name in getattr(net, "frozen_norms_", ()):
                module.get_submodule(name).eval()


def resume_running_averages(net):
    """Put back the running averages that training left, before training on."""
    for name, state in vars(net).pop("running_averages_", {}).items():
        net.module_.get_submodule(name).load_state_dict(state)
