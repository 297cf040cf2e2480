import numpy as np
import pytest
import torch

from sklearn_mlarch._training import (ArrayDataset, BatchIterator, DivergenceGuard,
                                      HoldoutSplit, TrainingDivergedError,
                                      WeightedNeuralNet)


def _net(**kw):
    params = dict(module=torch.nn.Linear, module__in_features=3, module__out_features=2,
                  criterion=torch.nn.CrossEntropyLoss(reduction="none"), train_split=None,
                  verbose=0, max_epochs=1, batch_size=-1)
    return WeightedNeuralNet(**{**params, **kw}).initialize()


def test_loss_is_weight_normalised():
    net = _net()
    logits = torch.randn(4, 2)
    y = torch.tensor([0, 1, 1, 0])
    per_sample = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    w = torch.tensor([1.0, 2.0, 0.0, 1.0])
    loss = net.get_loss(logits, (y, w))
    torch.testing.assert_close(loss, (per_sample * w).sum() / 4.0)


def test_all_zero_weights_give_zero_loss_not_nan():
    net = _net()
    loss = net.get_loss(torch.randn(2, 2), (torch.tensor([0, 1]), torch.zeros(2)))
    assert loss.item() == 0.0


def test_batch_iterator_covers_every_sample_once():
    ds = ArrayDataset(torch.arange(10.0)[:, None], torch.arange(10))
    batches = list(BatchIterator(ds, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1][0] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))  # shuffled


def test_holdout_split_is_stratified():
    y = np.repeat([0, 1], [80, 20])
    ds = ArrayDataset(torch.zeros(100, 1), torch.as_tensor(y))
    train, valid = HoldoutSplit(0.2, stratify=True, random_state=0)(ds)
    assert len(valid) == 20 and valid.y.sum().item() == 4


def test_divergence_raises_with_epoch_and_lr():
    net = _net(lr=1e30, optimizer=torch.optim.SGD, max_epochs=5,
               callbacks=[("guard", DivergenceGuard())])
    X = torch.randn(20, 3) * 1e10
    ds = ArrayDataset(X, torch.randint(0, 2, (20,)))
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*lr="):
        net.train_epochs(ds, 5, seed=0)


def test_train_epochs_restores_global_rng():
    net = _net()
    data = ArrayDataset(torch.randn(8, 3), torch.randint(0, 2, (8,)))
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    net.train_epochs(data, 2, seed=7)
    assert torch.rand(1).item() == expected.item()


def test_predictions_do_not_depend_on_batch_composition():
    net = _net()
    X = np.random.RandomState(0).randn(300, 3).astype(np.float32)
    full = net.predict_raw(X)
    one_by_one = np.vstack([net.predict_raw(X[i:i + 1]) for i in range(0, 300, 37)])
    np.testing.assert_array_equal(full[::37], one_by_one)
