"""Transfer learning (init_from, freeze, unfreeze_after, trunk_lr) for every neural estimator."""

import numpy as np
import pytest
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_score

from sklearn_mlarch import (CNNClassifier, CNNRegressor, MultiTaskClassifier, RNNClassifier,
                            save_model)
from sklearn_mlarch.utils._testing import fast_instance


@pytest.fixture(scope="module")
def source(digits):
    X, y = digits
    return fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=15).fit(X, y)


def _params(est):
    return {k: v.detach().clone() for k, v in est.net_.module_.state_dict().items()}


def test_trunk_and_same_head_copied_before_training(source, digits):
    X, y = digits
    copy = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=source,
                         lr=1e-12, max_epochs=1).fit(X, y)
    a = dict(source.net_.module_.named_parameters())
    b = dict(copy.net_.module_.named_parameters())
    assert set(a) == set(b) and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # batch-norm statistics moved over one epoch; the weights did not
    assert copy.score(X, y) == pytest.approx(source.score(X, y), abs=0.05)


def test_new_head_when_classes_differ(source, digits):
    X, y = digits
    parity = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=source,
                           lr=1e-12, max_epochs=1).fit(X, y % 2)
    a, b = _params(source), _params(parity)
    assert torch.equal(a["trunk.conv0.conv.weight"], b["trunk.conv0.conv.weight"])
    assert b["head.weight"].shape == (2, 16)
    scratch = fast_instance(CNNClassifier, input_shape=(1, 8, 8), lr=1e-12,
                            max_epochs=1).fit(X, y % 2)
    assert torch.equal(b["head.weight"], _params(scratch)["head.weight"])  # fresh, seeded


def test_transfer_helps_with_few_samples(source, digits):
    X, y = digits
    few = np.concatenate([np.where(y == k)[0][:2] for k in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), few)
    params = dict(input_shape=(1, 8, 8), max_epochs=30)
    scratch = fast_instance(CNNClassifier, **params).fit(X[few], y[few])
    tuned = fast_instance(CNNClassifier, init_from=source, freeze="trunk", **params)
    tuned.fit(X[few], y[few])
    assert tuned.score(X[rest], y[rest]) > scratch.score(X[rest], y[rest]) + 0.1


def test_freeze_by_block_and_unfreeze_after(source, digits):
    X, y = digits
    frozen = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=source,
                           freeze=["trunk.conv0"], max_epochs=3).fit(X, y % 2)
    a, b = _params(source), _params(frozen)
    assert torch.equal(a["trunk.conv0.conv.weight"], b["trunk.conv0.conv.weight"])
    assert not torch.equal(a["trunk.dense0.linear.weight"], b["trunk.dense0.linear.weight"])
    later = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=source,
                          freeze="trunk", unfreeze_after=2, max_epochs=3).fit(X, y % 2)
    assert not torch.equal(a["trunk.conv0.conv.weight"], _params(later)["trunk.conv0.conv.weight"])


def test_unfreeze_after_is_exact_across_warm_starts(source, digits):
    X, y = digits
    params = dict(input_shape=(1, 8, 8), init_from=source, freeze="trunk", unfreeze_after=2)
    once = fast_instance(CNNClassifier, max_epochs=4, **params).fit(X, y)
    warm = fast_instance(CNNClassifier, max_epochs=1, warm_start=True, **params)
    for _ in range(4):
        warm.fit(X, y)
    a, b = _params(once), _params(warm)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_trunk_learning_rate_is_its_own_param_group(source, digits):
    X, y = digits
    est = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=source, trunk_lr=1e-5,
                        max_epochs=1, warm_start=True).fit(X, y)
    lrs = {g.get("block"): g["lr"] for g in est.net_.optimizer_.param_groups}
    assert lrs == {"trunk": 1e-5, None: est.lr}
    est.set_params(trunk_lr=1e-4, lr=0.02).fit(X, y)  # a warm start applies both
    lrs = {g.get("block"): g["lr"] for g in est.net_.optimizer_.param_groups}
    assert lrs == {"trunk": 1e-4, None: 0.02}


def test_multitask_trunk_transfers_both_ways(source, digits):
    X, y = digits
    Y = np.c_[y, y % 2]
    mt = fast_instance(MultiTaskClassifier, estimator=fast_instance(
        CNNClassifier, input_shape=(1, 8, 8), init_from=source, lr=1e-12,
        max_epochs=1)).fit(X, Y)
    assert torch.equal(_params(mt)["trunk.conv0.conv.weight"],
                       _params(source)["trunk.conv0.conv.weight"])
    back = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=mt, lr=1e-12,
                         max_epochs=1).fit(X, y % 2)
    assert torch.equal(_params(back)["trunk.conv0.conv.weight"],
                       _params(mt)["trunk.conv0.conv.weight"])


def test_from_a_saved_model_and_through_cross_val_score(source, digits, tmp_path):
    X, y = digits
    path = save_model(source, tmp_path / "cnn")
    from_file = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=str(path),
                              lr=1e-12, max_epochs=1).fit(X, y)
    assert torch.equal(_params(from_file)["head.weight"], _params(source)["head.weight"])
    est = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=2,
                        init_from=FrozenEstimator(source), freeze="trunk")
    assert cross_val_score(est, X, y, cv=2).min() > 0.7


def test_bad_sources_and_patterns(source, digits):
    X, y = digits
    with pytest.raises(ValueError, match="trunk does not fit"):
        fast_instance(CNNClassifier, input_shape=(1, 8, 8), channels=(4,),
                      init_from=source).fit(X, y)
    with pytest.raises(ValueError, match="not fitted.*FrozenEstimator|fitted estimator"):
        fast_instance(CNNClassifier, init_from=CNNClassifier()).fit(X, y)
    with pytest.raises(ValueError, match="match no parameter.*Its blocks are"):
        fast_instance(CNNClassifier, freeze="trunk.conv7").fit(X, y)
    with pytest.raises(ValueError, match="unfreeze_after needs blocks"):
        fast_instance(CNNClassifier, unfreeze_after=2).fit(X, y)
    with pytest.raises(ValueError, match="trunk does not fit"):
        fast_instance(RNNClassifier, input_shape=(8, 8), init_from=source).fit(X, y)


def test_regressor_from_classifier_trunk(source, digits):
    X, y = digits
    reg = fast_instance(CNNRegressor, input_shape=(1, 8, 8), init_from=source, lr=1e-12,
                        max_epochs=1).fit(X, y.astype(float))
    assert torch.equal(_params(reg)["trunk.conv0.conv.weight"],
                       _params(source)["trunk.conv0.conv.weight"])


def test_frozen_trunk_keeps_its_batch_norm_statistics(source, digits):
    X, y = digits
    frozen = fast_instance(CNNClassifier, input_shape=(1, 8, 8), init_from=source,
                           freeze="trunk", max_epochs=2).fit(X, y % 2)
    a, b = source.net_.module_.state_dict(), frozen.net_.module_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("trunk."))


def test_init_from_an_estimator_without_a_network_says_so():
    from sklearn.linear_model import LogisticRegression

    X = np.random.RandomState(0).rand(40, 8)
    y = (X[:, 0] > 0.5).astype(int)
    with pytest.raises(ValueError, match="LogisticRegression is not a neural estimator of "
                                         "sklearn_mlarch, so it has no network weights"):
        CNNClassifier(init_from=LogisticRegression().fit(X, y), max_epochs=1).fit(X, y)
