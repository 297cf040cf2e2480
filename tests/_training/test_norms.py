"""Batch norm's statistics computed anew for the final weights at the end of a fit."""

import numpy as np
import torch

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch._training.norms import resume_running_averages


def _data(n=48):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 2, 16).astype(np.float32)
    y = np.arange(n) % 3
    X[:, 0] += y[:, None]
    return X, y


def _norm_buffers(module):
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k}


def test_the_statistics_are_those_of_the_training_rows_under_the_final_weights():
    X, y = _data()
    clf = CNNClassifier(channels=(4, 4), batch_size="full", max_epochs=5, lr=0.05,
                        random_state=0).fit(X, y)
    fitted = _norm_buffers(clf.net_.module_)
    # by hand: the whole training set as one batch through the final weights
    module = clf.net_.module_
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.reset_running_stats()
            m.momentum = None
    module.train()
    with torch.no_grad():
        module(torch.as_tensor(X))
    for name, value in _norm_buffers(module).items():
        torch.testing.assert_close(fitted[name], value)


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

