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
still equal ``k + m``, ``partial_fit`` calls included. Each training call
computes the statistics over the rows it is given: ``partial_fit`` on
chunks gives those of the last chunk (for data larger than memory, fit a
:class:`~sklearn_mlarch.Streamed` source, all of whose rows are read). When
early stopping restores its best epoch's weights, the statistics are
computed for those. Callbacks' ``on_train_end`` sees the final
statistics; the epochs' validation scores were computed with the running
averages.
"""

import torch
from skorch.callbacks import EarlyStopping
from torch.nn.modules.batchnorm import _BatchNorm

from .data import ArrayDataset


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


def recompute_norm_statistics(net, rows, seed):
    """Average the batch norms' statistics anew over ``rows``, the rows trained on.

    In batches of ``net.batch_size`` (a last batch of one row joins the one
    before), in an order drawn from ``seed``, without dropout or
    augmentation; rows streamed from a source are read once more. Episodes
    (meta-learning) keep the running averages. Where early stopping will
    restore its best epoch's weights, they are restored first and its copy
    gets the new statistics, so the model predicts with statistics of the
    weights it keeps.
    """
    if not isinstance(rows, ArrayDataset) or not len(rows):
        return
    norms = training_norms(net)
    if not norms:
        return
    restoring = _restoring_best(net)
    for callback in restoring:  # as its on_train_end will
        net.module_.load_state_dict(callback.best_model_weights_)
    vars(net)["running_averages_"] = {
        name: {k: getattr(m, k).detach().to("cpu", copy=True) for k in _RUNNING}
        for name, m in norms}
    net.shuffle_generator_.manual_seed(seed)
    net.augmenter_ = None  # the rows as they are
    batches = net.get_iterator(rows, training=True)
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
    for callback in restoring:
        for name, m in norms:
            prefix = f"{name}." if name else ""
            for key in _RUNNING:
                callback.best_model_weights_[prefix + key] = getattr(m, key).detach().clone()


def _restoring_best(net):
    """The early-stopping callbacks whose ``on_train_end`` loads their best weights."""
    last = net.history[-1, "epoch"] if len(net.history) else None
    return [cb for _, cb in getattr(net, "callbacks_", ())
            if isinstance(cb, EarlyStopping) and cb.load_best
            and getattr(cb, "best_model_weights_", None) is not None and cb.best_epoch_ != last]


def resume_running_averages(net):
    """Put back the running averages that training left, before training on."""
    with torch.no_grad():
        for name, state in vars(net).pop("running_averages_", {}).items():
            norm = net.module_.get_submodule(name)
            for key, value in state.items():
                getattr(norm, key).copy_(value)
