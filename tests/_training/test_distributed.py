"""Data-parallel training: 2 CPU processes on gloo against one process.

The first fit_distributed call of a session starts the fork server (torch
imported once, a few seconds); every later call takes well under a second.
"""

import os
import signal

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from skorch.callbacks import Callback

from sklearn_mlarch import (CNNClassifier, FeedForwardClassifier, FeedForwardRegressor,
                            fit_distributed)
from sklearn_mlarch._training import (ArrayDataset, CrossEntropyObjective, HoldoutSplit,
                                      MultiTaskObjective, Objective, SquaredErrorObjective,
                                      TrainingNet)
from sklearn_mlarch._training.distributed import check_supported, world
from sklearn_mlarch.exceptions import DistributedFitError

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="torch built without torch.distributed")


def _weights(est):
    return {k: v.detach().double().clone() for k, v in est.net_.module_.state_dict().items()}


def _max_diff(a, b):
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def _data(n=50, seed=0):
    X, y = make_classification(n_samples=n, n_features=6, n_informative=4, random_state=seed)
    return X.astype(np.float32), y


# the tolerance: float64 agrees to rounding (measured 6e-17), float32 to a
# few ulps of the weights after 4 epochs (measured 7e-9)
@pytest.mark.parametrize("dtype, batch_size, weighted, atol", [
    ("float32", 16, False, 1e-5),
    ("float64", 15, True, 1e-12),  # 15 = 7 + 8 rows: unequal shares, scaled losses
])
def test_two_processes_equal_one_with_the_same_global_batch(dtype, batch_size, weighted, atol):
    X, y = _data()
    sample_weight = np.linspace(0.2, 3.0, len(X)) if weighted else None
    est = FeedForwardClassifier(hidden_sizes=(8,), batch_size=batch_size, max_epochs=4,
                                lr=1e-2, dtype=dtype, random_state=0)
    one = clone(est).fit(X, y, sample_weight=sample_weight)
    assert fit_distributed(est, X, y, n_processes=2, sample_weight=sample_weight) is est
    assert _max_diff(_weights(one), _weights(est)) <= atol
    # the history holds the whole batches' losses and sizes, as in one process
    np.testing.assert_allclose(est.history_[:, "train_loss"], one.history_[:, "train_loss"],
                               rtol=1e-5)
    assert est.history_[-1, "batches", -1, "train_batch_size"] == \
        one.history_[-1, "batches", -1, "train_batch_size"]
    np.testing.assert_array_equal(est.predict(X), one.predict(X))


def test_a_cnn_with_early_stopping_equals_one_process():
    # the held-out split and the validation loss are the same in every process
    X, y = make_classification(n_samples=60, n_features=16, random_state=0)
    est = CNNClassifier(input_shape=(1, 4, 4), batch_norm=False, dropout=0.0, batch_size=12,
                        max_epochs=4, early_stopping=True, validation_fraction=0.2,
                        dtype="float64", random_state=0)
    one = clone(est).fit(X, y)
    fit_distributed(est, X, y, n_processes=2)
    assert _max_diff(_weights(one), _weights(est)) <= 1e-12


def test_unfreezing_rebuilds_the_wrapper_and_stays_exact():
    # FreezeBlocks changes the trainable parameters at an epoch's start;
    # DDP fixes them when built, so the engine rebuilds it
    X, y = make_regression(n_samples=40, n_features=5, random_state=0)
    est = FeedForwardRegressor(hidden_sizes=(8, 8), batch_size=10, max_epochs=3,
                               dtype="float64", freeze="trunk", unfreeze_after=1,
                               random_state=1)
    one = clone(est).fit(X, y)
    fit_distributed(est, X, y, n_processes=2)
    assert _max_diff(_weights(one), _weights(est)) <= 1e-12


def test_random_state_none_is_shared_by_the_processes():
    X, y = _data(40)
    est = FeedForwardClassifier(hidden_sizes=(4,), batch_size=8, max_epochs=1)
    fit_distributed(est, X, y, n_processes=2)
    assert est.n_iter_ == 1


class _ExitInRank1(Callback):
    def on_batch_end(self, net, **kwargs):
        if torch.distributed.get_rank() == 1 and len(net.history) == 2:
            os._exit(3)


class _RaiseInRank1(Callback):
    def on_epoch_end(self, net, **kwargs):
        if torch.distributed.get_rank() == 1:
            raise RuntimeError("boom in rank 1")


@pytest.mark.parametrize("callback, message", [
    (_ExitInRank1(), "Process 1 of 2 exited with code 3"),
    (_RaiseInRank1(), "Process 1 of 2 raised(.|\n)*boom in rank 1"),
])
def test_a_failed_process_ends_the_fit_and_leaves_the_estimator_unchanged(callback, message):
    X, y = _data(40)
    est = FeedForwardClassifier(hidden_sizes=(4,), batch_size=8, max_epochs=3,
                                random_state=0).fit(X, y)
    before, keys = _weights(est), set(vars(est))
    est.set_params(callbacks=[callback])
    with pytest.raises(DistributedFitError, match=message) as info:
        fit_distributed(est, X, y, n_processes=2)
    assert "estimator is unchanged" in str(info.value)
    assert set(vars(est)) == keys
    assert _max_diff(before, _weights(est)) == 0


def test_a_refusal_in_the_processes_is_raised_as_a_value_error():
    X, y = _data(40)
    est = FeedForwardClassifier(hidden_sizes=(4,), batch_size=1, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="batch_size=1 is smaller than the 2 processes"):
        fit_distributed(est, X, y, n_processes=2)
    assert not hasattr(est, "net_")


def test_a_sample_count_that_batches_unevenly_is_shared():
    # 5 samples in batches of 2: the last batch of one is merged into the one
    # before (BatchIterator's merge_single), so every batch has 2 rows or more
    X, y = _data(40)
    est = FeedForwardClassifier(hidden_sizes=(4,), batch_size=2, max_epochs=2,
                                dtype="float64", random_state=0)
    one = clone(est).fit(X[:5], y[:5])
    fit_distributed(est, X[:5], y[:5], n_processes=2)
    assert _max_diff(_weights(one), _weights(est)) <= 1e-12


def test_a_last_batch_too_small_to_share_is_refused_before_training():
    # 10 samples in batches of 4 leave a last batch of 2 for 3 processes
    data = ArrayDataset(torch.randn(10, 3), torch.randint(0, 2, (10,)))
    with pytest.raises(ValueError, match="last batch of 2 .* among 3 processes"):
        check_supported(_net(batch_size=4), data, 3)
    check_supported(_net(batch_size=4), data, 2)  # 2 rows: one each
    check_supported(_net(batch_size=3), data, 3)  # a last row merged into the batch before
    # the held-out validation rows are counted out: 12 - ceil(0.2 * 12) = 9 = 4 + 4 + 1
    held_out = _net(batch_size=4, train_split=HoldoutSplit(0.2))
    check_supported(held_out, ArrayDataset(torch.randn(12, 3), torch.zeros(12).long()), 3)
    held_out = _net(batch_size=4, train_split=HoldoutSplit(0.3))  # 12 - 4 = 8: none left
    check_supported(held_out, ArrayDataset(torch.randn(12, 3), torch.zeros(12).long()), 3)
    held_out = _net(batch_size=5, train_split=HoldoutSplit(0.2))  # 9 = 5 + 4
    check_supported(held_out, ArrayDataset(torch.randn(12, 3), torch.zeros(12).long()), 3)
    with pytest.raises(ValueError, match="2 training samples cannot be shared among 3 "
                                         "processes: pass more samples"):
        check_supported(_net(batch_size=4, train_split=HoldoutSplit(0.5)),
                        ArrayDataset(torch.randn(4, 3), torch.zeros(4).long()), 3)
    with pytest.raises(ValueError, match="The 7 training samples leave a last batch of 2"):
        check_supported(_net(batch_size=5, train_split=HoldoutSplit(0.3)),
                        ArrayDataset(torch.randn(10, 3), torch.zeros(10).long()), 3)


def test_parameters_are_checked():
    X, y = _data(20)
    est = FeedForwardClassifier(max_epochs=1)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_processes must be an int >= 1"):
            fit_distributed(est, X, y, n_processes=bad)
    with pytest.raises(ValueError, match="backend must be 'gloo'"):
        fit_distributed(est, X, y, backend="mpi")
    assert fit_distributed(est, X, y, n_processes=1) is est and est.n_iter_ == 1


def _net(**kw):
    params = dict(module=torch.nn.Linear, module__in_features=3, module__out_features=2,
                  criterion=CrossEntropyObjective(), train_split=None, verbose=0,
                  max_epochs=1, batch_size=8)
    return TrainingNet(**{**params, **kw}).initialize()


class _LearnedScale(Objective):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def per_sample(self, output, y):
        return self.scale * output[:, 0]


def test_what_cannot_be_exact_is_refused():
    data = ArrayDataset(torch.randn(20, 3), torch.randint(0, 2, (20,)))
    assert world() is None  # no process group here: the engine trains as always
    check_supported(_net(), data, 2)

    class Episodes:
        def make_iterator(self, net):
            return iter(())

        def __len__(self):
            return 4

    with pytest.raises(ValueError, match="episodes of meta-learning"):
        check_supported(_net(), Episodes(), 2)
    with pytest.raises(ValueError, match="LBFGS"):
        check_supported(_net(optimizer=torch.optim.LBFGS), data, 2)
    with pytest.raises(ValueError, match="batch_size=8 is smaller than the 16 processes"):
        check_supported(_net(), data, 16)
    check_supported(_net(batch_size=-1), data, 16)  # the whole data set: 20 rows
    multitask = MultiTaskObjective([CrossEntropyObjective(), SquaredErrorObjective()])
    with pytest.raises(ValueError, match="MultiTaskObjective is not a mean over the rows"):
        check_supported(_net(criterion=multitask), data, 2)
    with pytest.raises(ValueError, match="learns parameters outside the network"):
        check_supported(_net(criterion=_LearnedScale()), data, 2)


_TORCHRUN_SCRIPT = """
import pickle, sys
import numpy as np
import torch.distributed as dist
from sklearn.datasets import make_classification
from sklearn_mlarch import FeedForwardClassifier

dist.init_process_group("gloo")
X, y = make_classification(n_samples=50, n_features=6, n_informative=4, random_state=0)
X = X.astype(np.float32)
clf = FeedForwardClassifier(hidden_sizes=(8,), batch_size=15, max_epochs=4, lr=1e-2,
                            dtype="float64", random_state=dist.get_rank())
try:
    clf.fit(X, y)  # seeds that differ among the processes: refused by all
except ValueError as exc:
    print("refused:", exc)
clf.set_params(random_state=0, verbose=1).fit(X, y)
if dist.get_rank() == 0:
    with open(sys.argv[1], "wb") as f:
        pickle.dump(clf, f)
dist.destroy_process_group()
"""


def test_torchrun_launch(tmp_path):
    # the user guide's recipe on 2 CPU processes (each imports torch: ~10 s)
    import pickle
    import subprocess
    import sys

    script, out = tmp_path / "train.py", tmp_path / "model.pkl"
    script.write_text(_TORCHRUN_SCRIPT)
    # its own session: a timeout kills the launcher and the processes it started
    launcher = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        stdout, stderr = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.communicate()
    run = subprocess.CompletedProcess(launcher.args, launcher.returncode, stdout, stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("disagree on the seed") == 2  # both processes refused
    assert run.stdout.count("epoch 4/4") == 1  # progress from process 0 only
    with open(out, "rb") as f:
        est = pickle.load(f)
    X, y = _data()
    one = clone(est).fit(X, y)
    assert _max_diff(_weights(one), _weights(est)) <= 1e-12
