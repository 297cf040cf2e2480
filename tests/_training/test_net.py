import numpy as np
import pytest
import torch

from sklearn_mlarch._training import (ArrayDataset, Batch, BatchIterator, CrossEntropyObjective,
                                      DivergenceGuard, HoldoutSplit, Objective,
                                      SquaredErrorObjective, TrainingDivergedError, TrainingNet,
                                      scaled_mean, weighted_mean)


def _net(**kw):
    params = dict(module=torch.nn.Linear, module__in_features=3, module__out_features=2,
                  criterion=CrossEntropyObjective(), train_split=None, verbose=0,
                  max_epochs=1, batch_size=-1)
    return TrainingNet(**{**params, **kw}).initialize()


def _data(n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ArrayDataset(torch.randn(n, 3, generator=g), torch.randint(0, 2, (n,), generator=g))


def test_loss_is_the_mean_of_weight_times_loss():
    net = _net()
    logits = torch.randn(4, 2)
    y = torch.tensor([0, 1, 1, 0])
    per_sample = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    w = torch.tensor([1.0, 2.0, 0.0, 1.0])
    loss = net.get_loss(logits, y, sample_weight=w)
    torch.testing.assert_close(loss, (per_sample * w).mean())


def test_batch_losses_average_to_the_weighted_mean_whatever_the_batches():
    # weights scaled to a mean of 1 (as the estimators do): any split into
    # equal batches averages to the training set's weighted mean loss, so a
    # batch of light samples pulls lightly (class_weight {0: 1000, 1: 1e-4})
    g = torch.Generator().manual_seed(0)
    loss = torch.rand(12, generator=g, dtype=torch.float64)
    w = torch.where(torch.arange(12) < 4, 1000.0, 1e-4).to(torch.float64)
    w = w / w.mean()
    for seed in range(3):
        order = torch.randperm(12, generator=torch.Generator().manual_seed(seed))
        batches = [scaled_mean(loss[i], w[i]) for i in order.split(3)]
        torch.testing.assert_close(torch.stack(batches).mean(), weighted_mean(loss, w))


def test_all_zero_weights_give_zero_loss_not_nan():
    net = _net()
    loss = net.get_loss(torch.randn(2, 2), torch.tensor([0, 1]), sample_weight=torch.zeros(2))
    assert loss.item() == 0.0


def test_member_axis_is_declared_by_the_objective_not_read_from_shapes():
    logits, y = torch.randn(5, 3, 4), torch.randint(0, 4, (5,))
    w = torch.rand(5, 3)
    loss = CrossEntropyObjective(member_axis=True)(logits, y, w)
    expected = sum(scaled_mean(torch.nn.functional.cross_entropy(
        logits[:, m], y, reduction="none"), w[:, m]) for m in range(3))
    torch.testing.assert_close(loss, expected)
    # the same (B, M) weights without a member axis would be an error, not a guess
    with pytest.raises(RuntimeError):
        CrossEntropyObjective()(logits[:, 0], y, w)


def test_squared_error_averages_outputs_per_sample():
    out, y = torch.zeros(2, 3), torch.tensor([[1.0, 1, 1], [2, 2, 2]])
    torch.testing.assert_close(SquaredErrorObjective().per_sample(out, y), torch.tensor([1.0, 4]))


def test_batch_carries_targets_and_weights_as_separate_fields():
    ds = ArrayDataset(torch.arange(6.0)[:, None], torch.arange(6), torch.ones(6) * 2)
    batch = ds[torch.tensor([4, 1])]
    X, y = batch  # skorch's (X, y) unpacking
    assert isinstance(batch, Batch) and y.tolist() == [4, 1]
    assert batch.sample_weight.tolist() == [2.0, 2.0]


def test_batch_iterator_covers_every_sample_once_and_merges_a_single_last_sample():
    ds = ArrayDataset(torch.arange(9.0)[:, None], torch.arange(9))
    it = BatchIterator(ds, 4, shuffle=True, generator=torch.Generator().manual_seed(0),
                       merge_single=True)
    batches = list(it)
    assert [len(b[0]) for b in batches] == [4, 5] and len(it) == 2
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(9))
    assert seen.tolist() != list(range(9))  # shuffled


def test_holdout_split_is_stratified():
    y = np.repeat([0, 1], [80, 20])
    ds = ArrayDataset(torch.zeros(100, 1), torch.as_tensor(y))
    train, valid = HoldoutSplit(0.2, stratify=True, random_state=0)(ds)
    assert len(valid) == 20 and valid.y.sum().item() == 4


def test_divergence_raises_with_epoch_and_lr():
    net = _net(lr=1e30, optimizer=torch.optim.SGD, max_epochs=5,
               callbacks=[("guard", DivergenceGuard())])
    ds = ArrayDataset(torch.randn(20, 3) * 1e10, torch.randint(0, 2, (20,)))
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*lr="):
        net.train_epochs(ds, 5)


def test_train_epochs_restores_global_rng():
    net = _net()
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    net.train_epochs(_data(), 2)
    assert torch.rand(1).item() == expected.item()


def test_initialisation_is_its_own_seeded_step_with_a_hook():
    seen = []

    def hook(module):
        seen.append(module.weight.detach().clone())
        with torch.no_grad():
            module.bias.fill_(7.0)

    a, b = _net(seed=3, init_hook=hook), _net(seed=3)
    assert torch.equal(seen[0], b.module_.weight)  # seeded before the hook, no training
    assert torch.equal(a.module_.bias, torch.full((2,), 7.0))
    assert not torch.equal(_net(seed=4).module_.weight, b.module_.weight)


def test_k_epochs_then_m_more_equal_k_plus_m():
    data = _data(50)
    one = _net(seed=1, batch_size=8).train_epochs(data, 5)
    two = _net(seed=1, batch_size=8).train_epochs(data, 2).train_epochs(data, 3)
    for p, q in zip(one.module_.parameters(), two.module_.parameters()):
        assert torch.equal(p, q)


class _TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = torch.nn.Linear(3, 4)
        self.a, self.b = torch.nn.Linear(4, 2), torch.nn.Linear(4, 1)

    def forward(self, x):
        h = torch.relu(self.trunk(x))
        return self.a(h), self.b(h)


class _SumOfTasks(Objective):
    def per_sample(self, output, y):
        ce = torch.nn.functional.cross_entropy(output[0], y[:, 0].long(), reduction="none")
        return ce + (output[1][:, 0] - y[:, 1]) ** 2


def test_module_with_two_outputs_trains_and_predicts_without_the_engine_knowing():
    X = torch.randn(40, 3)
    y = torch.stack([(X[:, 0] > 0).float(), X[:, 1]], dim=1)
    net = TrainingNet(_TwoHeads, _SumOfTasks(), train_split=None, verbose=0, batch_size=16,
                      lr=0.05, optimizer=torch.optim.Adam)
    net.train_epochs(ArrayDataset(X, y), 30)
    logits, value = net.predict_raw(X.numpy())
    assert logits.shape == (40, 2) and value.shape == (40, 1)
    assert (logits.argmax(1) == y[:, 0].numpy()).mean() > 0.8


def test_non_objective_criterion_is_refused():
    with pytest.raises(TypeError, match="Objective"):
        _net(criterion=torch.nn.CrossEntropyLoss())


def test_predictions_do_not_depend_on_batch_composition():
    net = _net()
    X = np.random.RandomState(0).randn(300, 3).astype(np.float32)
    full = net.predict_raw(X)
    one_by_one = np.vstack([net.predict_raw(X[i:i + 1]) for i in range(0, 300, 37)])
    np.testing.assert_array_equal(full[::37], one_by_one)
