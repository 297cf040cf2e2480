import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mlarch import CNNClassifier, CNNRegressor, FeedForwardRegressor, RNNClassifier
from sklearn_mlarch.ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor
from sklearn_mlarch.networks import (CNNEnsembleNetwork, CNNNetwork, InceptionEnsembleNetwork,
                                     MemberEnsemble, ResNetEnsembleNetwork, SeriesScaled)
from sklearn_mlarch.utils._testing import FAST_PARAMS


def _ensemble(cls=DeepEnsembleClassifier, base=CNNClassifier, n_estimators=3, bootstrap=True,
              **params):
    """A seeded ensemble of ``n_estimators`` fast ``base`` estimators with ``params``."""
    est = base(**{**FAST_PARAMS[base.__name__], **params})
    return cls(est, n_estimators=n_estimators, bootstrap=bootstrap, random_state=0)


def test_grouped_network_equals_independent_members():
    torch.manual_seed(0)
    ens = CNNEnsembleNetwork((1, 8, 8), 4, n_members=3, channels=(4, 6), hidden_sizes=(5,),
                             batch_norm=False).eval()
    x = torch.randn(7, 1, 8, 8)
    out = ens(x)
    assert [n for n, _ in ens.trunk.named_children()] == ["conv0", "conv1", "flatten", "dense0"]
    convs = [m for m in ens.trunk.modules() if isinstance(m, torch.nn.Conv2d)]
    dense = [m for m in ens.trunk.modules() if isinstance(m, torch.nn.Conv1d)] + [ens.head]
    for m in range(3):
        single = CNNNetwork((1, 8, 8), 4, channels=(4, 6), hidden_sizes=(5,),
                            batch_norm=False).eval()
        s_convs = [c for c in single.trunk.modules() if isinstance(c, torch.nn.Conv2d)]
        s_dense = [c for c in single.trunk.modules() if isinstance(c, torch.nn.Linear)]
        with torch.no_grad():
            for g, c in zip(convs, s_convs):
                o = c.out_channels
                c.weight.copy_(g.weight[m * o:(m + 1) * o])
                c.bias.copy_(g.bias[m * o:(m + 1) * o])
            for g, lin in zip(dense, s_dense + [single.head]):
                o = lin.out_features
                lin.weight.copy_(g.weight[m * o:(m + 1) * o, :, 0])
                lin.bias.copy_(g.bias[m * o:(m + 1) * o])
        torch.testing.assert_close(single(x), out[:, m], atol=1e-5, rtol=1e-5)


def test_members_differ_and_probabilities_are_their_average(digits):
    X, y = digits
    ens = _ensemble(input_shape=(1, 8, 8), max_epochs=5).fit(X, y)
    assert isinstance(ens.net_.module_, CNNEnsembleNetwork)  # CNN members: one grouped network
    members = ens.predict_member(X)
    assert members.shape == (len(X), 3, 10)
    assert not np.allclose(members[:, 0], members[:, 1])
    assert_allclose(ens.predict_proba(X), members.mean(axis=1))
    assert_allclose(ens.predict_proba(X).sum(axis=1), 1)


def test_bootstrap_gives_each_member_its_own_sample(digits):
    X, y = digits
    ens = _ensemble(input_shape=(1, 8, 8), max_epochs=1)
    ens.fit(X, y)

    def weights(ens):
        codes = np.searchsorted(ens.classes_, y)
        return ens.targets_.sample_weight(np.ones(len(X)), codes, np.float64, seed=ens._seed_)

    w = weights(ens)
    assert w.shape == (len(X), 3)
    assert_allclose(w.sum(axis=0), len(X))  # a bootstrap sample of size n each
    assert (w == 0).mean() > 0.3  # about 1/e of the samples left out per member
    assert not np.array_equal(w[:, 0], w[:, 1])
    again = weights(ens)
    assert_allclose(w, again)  # the same draw on the same data: continued training is exact
    plain = weights(ens.set_params(bootstrap=False).fit(X, y))
    assert (plain == 1).all()


def test_single_member_learns_like_a_cnn(digits):
    X, y = digits
    # without bootstrap: 200 samples with a third of them left out are too few
    ens = _ensemble(input_shape=(1, 8, 8), n_estimators=1, bootstrap=False,
                    max_epochs=10).fit(X[:200], y[:200])
    assert ens.score(X[200:], y[200:]) > 0.8


# ------------------------------------------------------------------ any base estimator
def _members_differ(outputs):
    return all(not np.allclose(outputs[:, 0], outputs[:, m]) for m in range(1, outputs.shape[1]))


def _first_weights(ens):
    """Each member's first weight tensor, whether the members run in a loop or stacked."""
    module = ens.net_.module_
    if isinstance(module, MemberEnsemble):
        return [next(m.parameters()).detach() for m in module.members]
    return list(next(module.parameters()).detach())  # stacked over the members


def test_recurrent_members_run_as_a_member_loop(digits):
    X, y = digits
    X = X.reshape(-1, 8, 8)  # the RNN reads (n, C, L): 8 channels of 8 steps
    ens = _ensemble(base=RNNClassifier, hidden_size=8, max_epochs=3).fit(X, y)
    assert isinstance(ens.net_.module_, MemberEnsemble)
    assert tuple(ens.input_shape_) == (8, 8)
    members = ens.predict_member(X)
    assert members.shape == (len(X), 3, 10)
    assert_allclose(ens.predict_proba(X), members.mean(axis=1))
    assert ens.predict(X).shape == (len(X),) and set(ens.predict(X)) <= set(ens.classes_)
    assert _members_differ(members)


def test_members_start_from_different_initialisations():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 3)
    Y = np.c_[X.sum(1), X[:, 0] - X[:, 1]]
    # without bootstrap the members see the same data: only their initialisation differs
    ens = _ensemble(DeepEnsembleRegressor, FeedForwardRegressor, n_estimators=4,
                    bootstrap=False, max_epochs=3).fit(X, Y[:, 0])
    first = _first_weights(ens)
    assert len(first) == 4 and all(not torch.equal(first[0], w) for w in first[1:])
    members = ens.predict_member(X)
    assert members.shape == (len(X), 4)
    assert _members_differ(members)
    assert ens.predict(X).shape == (len(X),)
    assert_allclose(ens.predict(X), members.mean(axis=1))
    two = _ensemble(DeepEnsembleRegressor, FeedForwardRegressor, max_epochs=3).fit(X, Y)
    assert two.predict(X).shape == (len(X), 2)
    assert two.predict_member(X).shape == (len(X), 3, 2)
    assert_allclose(two.predict(X), two.predict_member(X).mean(axis=1))


def test_cnn_members_read_series_of_different_lengths():
    rng = np.random.RandomState(0)
    X = [rng.randn(1, n) for n in rng.randint(20, 40, size=40)]
    y = np.array([int(x.mean() > 0) for x in X])
    ens = _ensemble(max_epochs=2).fit(X, y)
    # the grouped network has no masking: members of the CNN's own network instead
    assert not isinstance(ens.net_.module_, CNNEnsembleNetwork)
    assert ens.predict(X).shape == (40,)
    assert ens.predict_member(X).shape == (40, 3, 2)
    assert ens.predict([rng.randn(1, 80)]).shape == (1,)  # longer than any seen in fit


# ------------------------------------------------------------------ fit contract
def test_k_epochs_then_m_more_equal_k_plus_m_epochs():
    rng = np.random.RandomState(0)
    X = rng.rand(80, 3)
    y = X.sum(1) + 0.1 * rng.randn(80)
    whole = _ensemble(DeepEnsembleRegressor, FeedForwardRegressor, max_epochs=5).fit(X, y)
    resumed = _ensemble(DeepEnsembleRegressor, FeedForwardRegressor, max_epochs=2)
    resumed.set_params(estimator__warm_start=True).fit(X, y)
    resumed.set_params(estimator__max_epochs=3).fit(X, y)
    assert resumed.n_iter_ == whole.n_iter_ == 5
    for p, q in zip(whole.net_.module_.parameters(), resumed.net_.module_.parameters()):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(resumed.predict_member(X), whole.predict_member(X))


def test_class_weight_of_the_wrapped_estimator_reaches_the_members(digits):
    X, y = digits
    keep = y < 3
    X, y = X[keep], y[keep]
    weighted = _ensemble(input_shape=(1, 8, 8), max_epochs=10,
                         class_weight={0: 0.0, 1: 1.0, 2: 1.0}).fit(X, y)
    w = weighted.targets_.sample_weight(np.ones(len(X)), np.searchsorted(weighted.classes_, y),
                                        np.float64, seed=weighted._seed_)
    assert (w[y == 0] == 0).all() and (w[y != 0].sum(axis=0) > 0).all()
    assert 0 not in weighted.predict(X)  # a class weighted 0 is never learned
    plain = _ensemble(input_shape=(1, 8, 8), max_epochs=10).fit(X, y)
    assert plain.score(X, y) > 0.9  # the same data unweighted: class 0 is learned


def test_inception_members_run_as_one_grouped_network():
    # InceptionTime composed: DeepEnsembleClassifier(CNNClassifier(architecture='inception'))
    rng = np.random.RandomState(0)
    X = rng.randn(24, 1, 20).astype(np.float32)
    y = np.arange(24) % 2
    X[y == 1, 0] += 1.0
    base = CNNClassifier(architecture="inception", channels=(2,) * 3, max_epochs=1)
    ens = DeepEnsembleClassifier(base, n_estimators=2, random_state=0).fit(X, y)
    assert type(ens.net_.module_) is InceptionEnsembleNetwork
    assert ens.net_.module_.n_members == 2
    members = ens.predict_member(X)
    assert members.shape == (24, 2, 2) and _members_differ(members)
    assert_allclose(ens.predict_proba(X), members.mean(axis=1), rtol=1e-6)
    assert ens.predict(X).shape == (24,)
    # series of different lengths: the grouped network masks the padding, as one network does
    series = [rng.randn(1, n) for n in rng.randint(10, 20, size=12)]
    ragged = DeepEnsembleClassifier(clone(base).set_params(architecture="resnet",
                                                           channels=(2,)),
                                    n_estimators=2, random_state=0).fit(series, y[:12])
    assert type(ragged.net_.module_) is ResNetEnsembleNetwork
    assert ragged.net_.module_.variable_length
    assert ragged.predict_member(series).shape == (12, 2, 2)


@pytest.mark.parametrize("bad, name", [({"architecture": "resnt"}, "architecture"),
                                       ({"normalize": "series+Scale"}, "normalize"),
                                       ({"batch_size": 0}, "batch_size"),
                                       ({"optimizer": "adamm"}, "optimizer"),
                                       ({"lr": -1.0}, "lr")])
def test_the_wrapped_estimators_parameters_are_checked(bad, name):
    # before: a misspelled architecture trained the default network, a
    # misspelled normalize 'series', batch_size=0 fitted
    X, y = np.zeros((8, 1, 12), dtype=np.float32), np.arange(8) % 2
    ens = _ensemble(n_estimators=2, **bad)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of CNNClassifier"):
        ens.fit(X, y)
    assert not hasattr(ens, "net_")


def test_normalized_series_members_still_run_as_one_grouped_network():
    # before: normalize= put each member in its own SeriesScaled, run one
    # after the other, and the block names gained a 'members.m.' prefix
    rng = np.random.RandomState(0)
    X, y = rng.randn(16, 1, 20).astype(np.float32), np.arange(16) % 2
    base = CNNClassifier(architecture="inception", channels=(2, 2), normalize="series+scale",
                         freeze="trunk.block0", max_epochs=1)
    ens = DeepEnsembleClassifier(base, n_estimators=2, random_state=0).fit(X, y)
    module = ens.net_.module_
    assert isinstance(module, SeriesScaled) and module.keep_scale
    assert type(module._body) is InceptionEnsembleNetwork and module.n_members == 2
    assert ens.predict_member(X * 100 + 3).shape == (16, 2, 2)


@pytest.mark.parametrize("architecture", ["inception", "resnet"])
def test_one_series_member_is_the_base_estimator(architecture):
    # before: the grouped network drew a Linear head it then replaced, so its
    # own head started from other random draws than the single network's
    rng = np.random.RandomState(0)
    X = rng.randn(16, 1, 12).astype(np.float32)
    y = X.mean(axis=(1, 2))
    base = CNNRegressor(architecture=architecture, channels=(2,) * 3, max_epochs=2,
                        batch_size=8, random_state=0)
    ens = DeepEnsembleRegressor(base, n_estimators=1, bootstrap=False).fit(X, y)
    assert_allclose(ens.predict(X), clone(base).fit(X, y).predict(X), rtol=1e-5, atol=1e-6)
