"""CNNClassifier / CNNRegressor(architecture=...): FCN, ResNet and Inception (issue 22)."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.base import clone

from sklearn_mlarch import (CNNClassifier, CNNRegressor, DeepEnsembleClassifier,
                            MultiTaskClassifier, load_model, save_model)
from sklearn_mlarch.meta_learning import MAMLClassifier, PrototypicalClassifier
from sklearn_mlarch.networks import CNNNetwork, InceptionNetwork, ResNetNetwork

NETWORK = {None: CNNNetwork, "fcn": CNNNetwork, "resnet": ResNetNetwork,
           "inception": InceptionNetwork}
SMALL = {"resnet": (4, 8), "inception": (4, 4, 4)}


@pytest.fixture(scope="module")
def series():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 2, 32).astype(np.float32)
    y = np.arange(40) % 2
    X[y == 1, 0] += np.sin(np.linspace(0, 6, 32))
    return X, y


@pytest.mark.parametrize("architecture", [None, "fcn", "resnet", "inception"])
def test_each_architecture_fits_and_predicts(series, architecture):
    X, y = series
    clf = CNNClassifier(architecture=architecture, max_epochs=2, random_state=0).fit(X, y)
    assert type(clf.net_.module_) is NETWORK[architecture]
    assert clf.predict(X[:5]).shape == (5,)
    assert clf.predict_proba(X[:5]).shape == (5, 2)
    reg = CNNRegressor(architecture=architecture, channels=SMALL.get(architecture, (4,)),
                       max_epochs=2, random_state=0).fit(X, X.mean(axis=(1, 2)))
    assert reg.predict(X[:3]).shape == (3,)


def test_default_sizes_are_the_papers(series):
    X, y = series
    resnet = CNNClassifier(architecture="resnet", max_epochs=1).fit(X, y).net_.module_
    assert resnet.architecture["channels"] == (64, 128, 128)
    inception = CNNClassifier(architecture="inception", max_epochs=1).fit(X, y).net_.module_
    assert inception.architecture["channels"] == (32,) * 6 and inception.out_features == 128


def test_channels_sets_width_and_depth(series):
    X, y = series
    clf = CNNClassifier(architecture="resnet", channels=(4, 6), max_epochs=1).fit(X, y)
    blocks = [name for name, _ in clf.net_.module_.trunk.named_children()]
    assert blocks == ["block0", "block1", "global_pool"]
    assert clf.transform_features(X[:3]).shape == (3, 6)
    rows = {row.name: row.output_shape for row in clf.summary().rows}
    assert rows["trunk.block1"] == "(N, 6, 32)" and rows["trunk.global_pool"] == "(N, 6)"


def test_freeze_names_a_block(series):
    X, y = series

    def fitted(freeze):
        return CNNClassifier(architecture="inception", channels=(4, 4, 4), freeze=freeze,
                             max_epochs=2, random_state=0).fit(X, y).net_.module_.state_dict()

    # the same seed, so the same initial weights: a frozen block keeps them
    block0, trunk = fitted("trunk.block0"), fitted("trunk")
    assert torch.equal(block0["trunk.block0.convs.0.weight"], trunk["trunk.block0.convs.0.weight"])
    assert not torch.equal(block0["trunk.block1.convs.0.weight"],
                           trunk["trunk.block1.convs.0.weight"])


@pytest.mark.parametrize("architecture", ["fcn", "resnet", "inception"])
def test_images_are_refused(architecture):
    X = np.random.RandomState(0).rand(20, 1, 8, 8)
    clf = CNNClassifier(architecture=architecture, max_epochs=1)
    with pytest.raises(ValueError, match=rf"architecture='{architecture}' is a network for "
                                         r"signals \(C, L\).*Pass architecture=None"):
        clf.fit(X, np.arange(20) % 2)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize("architecture", ["resnet", "inception"])
@pytest.mark.parametrize("params, named", [
    (dict(kernel_size=3), "kernel_size=None"),
    (dict(pool_size=2), "pool_size=None"),
    (dict(hidden_sizes=(8,)), "hidden_sizes=None"),
    (dict(dropout=0.2), "dropout=None"),
    (dict(global_pool="flatten"), r"global_pool=None \(global_pool may be 'avg' or 'max'\)"),
    (dict(kernel_size=3, dropout=0.5), "kernel_size=None, dropout=None"),
])
def test_conflicting_parameters_are_refused(series, architecture, params, named):
    X, y = series
    clf = CNNClassifier(architecture=architecture, max_epochs=1, **params)
    with pytest.raises(ValueError, match=rf"architecture='{architecture}' sets its own kernel "
                                         rf"sizes.*leave {named}"):
        clf.fit(X, y)


@pytest.mark.parametrize("architecture", ["resnet", "inception"])
def test_compatible_parameters_are_accepted(series, architecture):
    X, y = series
    clf = CNNClassifier(architecture=architecture, channels=(4,), dropout=0.0, batch_norm=False,
                        global_pool="max", max_epochs=1).fit(X, y)
    module = clf.net_.module_
    assert module.trunk.global_pool.mode == "max"
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in module.modules())


def test_unknown_architecture_is_refused(series):
    X, y = series
    with pytest.raises(ValueError, match="architecture"):
        CNNClassifier(architecture="lstm").fit(X, y)


@pytest.mark.parametrize("architecture", [None, "resnet", "inception"])
def test_no_convolution_is_refused(series, architecture):
    # before: channels=() fitted a head on the raw input's average (resnet,
    # inception) or named pool_size, which was never set (the FCN)
    X, y = series
    with pytest.raises(ValueError, match=r"channels must hold at least one .*got \(\)"):
        CNNClassifier(architecture=architecture, channels=(), max_epochs=1).fit(X, y)
    ens = DeepEnsembleClassifier(CNNClassifier(architecture=architecture, channels=(),
                                               max_epochs=1), n_estimators=2)
    with pytest.raises(ValueError, match="channels must hold at least one"):
        ens.fit(X, y)


def test_params_clone_pickle_and_save_load(series, tmp_path):
    X, y = series
    clf = CNNClassifier(architecture="resnet", channels=(4, 4), max_epochs=2, random_state=0)
    assert clf.get_params()["architecture"] == "resnet"
    assert clone(clf).architecture == "resnet"
    clf.fit(X, y)
    expected = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    assert_allclose(restored.predict_proba(X), expected, atol=1e-6)
    loaded = load_model(save_model(clf, tmp_path / "resnet"))
    assert loaded.architecture == "resnet"
    assert type(loaded.net_.module_) is ResNetNetwork
    assert_allclose(loaded.predict_proba(X), expected, atol=1e-6)
    reg = CNNRegressor(architecture="inception", channels=(4,), max_epochs=1, random_state=0)
    reg.fit(X, X.mean(axis=(1, 2)))
    loaded = load_model(save_model(reg, tmp_path / "inception"))
    assert loaded.architecture == "inception"
    assert_allclose(loaded.predict(X), reg.predict(X), atol=1e-6)


def test_warm_start_refuses_an_architecture_change(series):
    X, y = series
    clf = CNNClassifier(architecture="resnet", channels=(4,), max_epochs=1, warm_start=True,
                        random_state=0).fit(X, y)
    clf.fit(X, y)  # same architecture: continues
    assert clf.n_iter_ == 2
    clf.set_params(architecture="inception")
    with pytest.raises(ValueError, match="architecture changed.*Set warm_start=False"):
        clf.fit(X, y)
    assert type(clf.net_.module_) is ResNetNetwork


@pytest.mark.parametrize("architecture", ["resnet", "inception"])
def test_series_of_different_lengths(series, architecture):
    X, y = series
    lists = [x[:, :20 + i % 13] for i, x in enumerate(X)]
    clf = CNNClassifier(architecture=architecture, channels=SMALL[architecture], max_epochs=2,
                        random_state=0).fit(lists, y)
    assert clf.net_.module_.variable_length
    alone = clf.predict_proba([lists[0]])
    together = clf.predict_proba([lists[0], X[1], X[2][:, :25]])
    assert_allclose(together[:1], alone, atol=1e-5)
    assert clf.predict_proba([np.tile(X[0], 2)]).shape == (1, 2)  # longer than in fit


def test_deep_ensemble_runs_members_as_one_grouped_network(series):
    X, y = series
    ens = DeepEnsembleClassifier(CNNClassifier(architecture="inception", channels=(4, 4, 4),
                                               max_epochs=2), n_estimators=2, random_state=0)
    ens.fit(X, y)
    module = ens.net_.module_
    assert type(module).__name__ == "InceptionEnsembleNetwork" and module.n_members == 2
    assert ens.predict_proba(X[:3]).shape == (3, 2)
    assert ens.predict_member(X[:3]).shape == (3, 2, 2)


def test_multitask_wraps_a_resnet(series):
    X, y = series
    Y = np.c_[y, np.arange(40) % 3]
    clf = MultiTaskClassifier(CNNClassifier(architecture="resnet", channels=(4, 4),
                                            max_epochs=2), random_state=0).fit(X, Y)
    assert clf.predict(X[:4]).shape == (4, 2)
    assert clf.net_.module_.out_features == 4


@pytest.mark.parametrize("meta", [MAMLClassifier, PrototypicalClassifier])
@pytest.mark.parametrize("architecture", ["resnet", "inception"])
def test_meta_learners_wrap_the_series_networks(series, meta, architecture):
    X, _ = series
    y = np.arange(40) % 4
    base = CNNClassifier(architecture=architecture, channels=(4,), dropout=0.0)
    clf = meta(base, n_way=2, k_shot=1, n_query=2, meta_batch_size=2, n_meta_iter=2,
               random_state=0).fit(X, y)
    model = clf.adapt(X[:8], y[:8] % 2)
    assert model.predict(X[:4]).shape == (4,)
