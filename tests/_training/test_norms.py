"""Batch norm's statistics computed anew for the final weights at the end of a fit."""

import numpy as np
import torch
from skorch.callbacks import Callback

from sklearn_mlarch import CNNClassifier, TorchModuleClassifier
from sklearn_mlarch._training import ArrayDataset
from sklearn_mlarch._training.norms import resume_running_averages


def _data(n=48):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 2, 16).astype(np.float32)
    y = np.arange(n) % 3
    X[:, 0] += y[:, None]
    return X, y


def _norm_buffers(module):
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k}


def _assert_statistics_of(clf, rows):
    """The fitted statistics are those of ``rows`` as one batch through the final weights."""
    fitted = _norm_buffers(clf.net_.module_)
    module = clf.net_.module_
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.reset_running_stats()
            m.momentum = None
    module.train()
    with torch.no_grad():
        module(rows)
    for name, value in _norm_buffers(module).items():
        torch.testing.assert_close(fitted[name], value)


def test_the_statistics_are_those_of_the_training_rows_under_the_final_weights():
    X, y = _data()
    clf = CNNClassifier(channels=(4, 4), batch_size="full", max_epochs=5, lr=0.05,
                        random_state=0).fit(X, y)
    # by hand: the whole training set as one batch through the final weights
    _assert_statistics_of(clf, torch.as_tensor(X))


def test_training_went_on_from_the_running_averages():
    # the averages are kept aside: what training left, not the recomputed ones
    X, y = _data()
    clf = CNNClassifier(channels=(4,), batch_size=16, max_epochs=3, lr=0.05,
                        random_state=0).fit(X, y)
    recomputed = _norm_buffers(clf.net_.module_)
    resume_running_averages(clf.net_)
    averages = _norm_buffers(clf.net_.module_)
    assert not all(torch.equal(recomputed[k], averages[k]) for k in recomputed)
    assert "running_averages_" not in vars(clf.net_)


def test_early_stoppings_validation_rows_are_left_out():
    X, y = _data(60)
    clf = CNNClassifier(channels=(4,), batch_size="full", max_epochs=3, early_stopping=True,
                        validation_fraction=0.25, random_state=0).fit(X, y)
    train, _ = clf.net_.train_split(ArrayDataset(torch.as_tensor(X), torch.as_tensor(y)))
    _assert_statistics_of(clf, train.X)


def test_norms_that_keep_their_statistics_keep_them():
    # a frozen block's, those of momentum=0, and those train() leaves in eval
    X, y = _data()
    torch.manual_seed(0)

    class KeepsFirst(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.kept = torch.nn.BatchNorm1d(32)
            self.still = torch.nn.BatchNorm1d(16, momentum=0.0)
            self.body = torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU())
            self.head = torch.nn.Linear(16, 3)

        def train(self, mode=True):
            super().train(mode)
            self.kept.eval()  # pre-trained statistics, as torchvision users keep them
            return self

        def forward(self, x):
            return self.head(self.still(self.body(self.kept(x.reshape(len(x), -1)))))

    module = KeepsFirst()
    with torch.no_grad():
        module.kept.running_mean.fill_(0.5)
    before = _norm_buffers(module)
    clf = TorchModuleClassifier(module, max_epochs=2, batch_size=16, random_state=0)
    clf.fit(X, y)
    after = {name.split(".", 1)[1] if not name.startswith(("kept", "still")) else name: value
             for name, value in _norm_buffers(clf.net_.module_).items()}
    for name in ("kept.running_mean", "kept.running_var", "still.running_mean"):
        torch.testing.assert_close(after[name], before[name])


def _trained(net, kind):
    """The net's own copy of a callback passed to the estimator."""
    (callback,) = [cb for _, cb in net.callbacks_ if isinstance(cb, kind)]
    return callback


class _EpochBuffers(Callback):
    """The running averages at the end of each epoch."""

    def on_epoch_end(self, net, **kwargs):
        self.buffers = getattr(self, "buffers", {})
        self.buffers[len(net.history)] = _norm_buffers(net.module_)


def test_the_statistics_are_those_of_the_best_epoch_that_early_stopping_restores():
    X, y = _data(60)
    record = _EpochBuffers()
    clf = CNNClassifier(channels=(4,), batch_size=16, max_epochs=60, lr=0.3,
                        early_stopping=True, n_iter_no_change=2, validation_fraction=0.25,
                        callbacks=[record], random_state=0).fit(X, y)
    stopping = dict(clf.net_.callbacks_)["early_stopping"]
    record = _trained(clf.net_, _EpochBuffers)
    best, last = stopping.best_epoch_, len(clf.history_)
    assert best != last  # the best weights were restored
    fitted = _norm_buffers(clf.net_.module_)
    # the statistics were computed anew for the restored weights...
    assert not any(torch.equal(fitted[k], record.buffers[best][k]) for k in fitted)
    # ...and a warm start trains on from the best epoch's running averages
    kept = clf.net_.running_averages_
    for key, value in record.buffers[best].items():
        name, buffer = key.rsplit(".", 1)
        assert torch.equal(kept[name][buffer], value), key

