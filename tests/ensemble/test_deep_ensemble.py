import numpy as np
import torch
from numpy.testing import assert_allclose

from sklearn_mlarch.ensemble import DeepEnsembleClassifier
from sklearn_mlarch.networks import CNNEnsembleNetwork, CNNNetwork
from sklearn_mlarch.utils._testing import fast_instance


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
    ens = fast_instance(DeepEnsembleClassifier, input_shape=(1, 8, 8), max_epochs=5).fit(X, y)
    members = ens.predict_member_proba(X)
    assert members.shape == (len(X), 3, 10)
    assert not np.allclose(members[:, 0], members[:, 1])
    assert_allclose(ens.predict_proba(X), members.mean(axis=1))
    assert_allclose(ens.predict_proba(X).sum(axis=1), 1)


def test_bootstrap_gives_each_member_its_own_sample(digits):
    X, y = digits
    ens = fast_instance(DeepEnsembleClassifier, input_shape=(1, 8, 8), max_epochs=1)
    ens.fit(X, y)
    w = ens._prepare_sample_weight(np.ones(len(X)), np.searchsorted(ens.classes_, y))
    assert w.shape == (len(X), 3)
    assert_allclose(w.sum(axis=0), len(X))  # a bootstrap sample of size n each
    assert (w == 0).mean() > 0.3  # about 1/e of the samples left out per member
    assert not np.array_equal(w[:, 0], w[:, 1])
    again = ens._prepare_sample_weight(np.ones(len(X)), np.searchsorted(ens.classes_, y))
    assert_allclose(w, again)  # the same draw on the same data: continued training is exact
    plain = ens.set_params(bootstrap=False)._prepare_sample_weight(
        np.ones(len(X)), np.searchsorted(ens.classes_, y))
    assert (plain == 1).all()


def test_single_member_learns_like_a_cnn(digits):
    X, y = digits
    # without bootstrap: 200 samples with a third of them left out are too few
    ens = fast_instance(DeepEnsembleClassifier, input_shape=(1, 8, 8), n_members=1,
                        bootstrap=False, max_epochs=10).fit(X[:200], y[:200])
    assert ens.score(X[200:], y[200:]) > 0.8
