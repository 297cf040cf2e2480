"""A torch module of the user's as the network: a ResNet-style backbone with
torchvision's block names, fine-tuned by block and shared by task heads."""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_mlarch import (DeepEnsembleClassifier, MultiTaskClassifier, TorchModuleClassifier,
                            TorchModuleRegressor)


class _Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(x + self.bn1(self.conv1(x)))


def _resnet_like(channels=8):
    """torchvision's ResNet layout in miniature: conv1, bn1, layer1, layer2, avgpool, fc."""
    net = nn.Sequential()
    net.add_module("conv1", nn.Conv2d(1, channels, 3, padding=1, bias=False))
    net.add_module("bn1", nn.BatchNorm2d(channels))
    net.add_module("relu", nn.ReLU())
    net.add_module("layer1", _Block(channels))
    net.add_module("layer2", _Block(channels))
    net.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    net.add_module("fc", nn.Flatten())  # a classifier replaced, as with torchvision
    return net


@pytest.fixture(scope="module")
def images(digits):
    X, y = digits
    return X.reshape(-1, 1, 8, 8).astype(np.float32), y


def test_fine_tuning_a_backbone_freezes_blocks_by_name(images):
    X, y = images
    backbone = _resnet_like()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    clf = TorchModuleClassifier(backbone, max_epochs=15, lr=1e-2, freeze="trunk.layer1",
                                random_state=0).fit(X, y)
    state = clf.net_.module_.state_dict()
    assert torch.equal(state["trunk.layer1.conv1.weight"], before["layer1.conv1.weight"])
    # a frozen block's batch norm keeps its statistics too
    assert torch.equal(state["trunk.layer1.bn1.running_mean"], before["layer1.bn1.running_mean"])
    assert not torch.equal(state["trunk.layer2.conv1.weight"], before["layer2.conv1.weight"])
    assert torch.equal(backbone.state_dict()["layer2.conv1.weight"],
                       before["layer2.conv1.weight"])  # the user's module is not trained
    assert clf.score(X, y) > 0.4  # chance: 0.1


def test_multi_task_and_ensembles_on_a_backbone(images):
    X, y = images
    Y = np.c_[y, y % 2]
    base = TorchModuleClassifier(_resnet_like(), max_epochs=2, lr=1e-2)
    mt = MultiTaskClassifier(base, random_state=0).fit(X, Y)
    assert mt.predict(X).shape == Y.shape
    assert {n.split(".")[0] for n, _ in mt.net_.module_.named_parameters()} == {"trunk", "heads"}
    ens = DeepEnsembleClassifier(base, n_estimators=2, random_state=0).fit(X, y)
    assert ens.predict_member(X).shape == (len(X), 2, 10)


def test_a_module_that_returns_the_wrong_shape_is_refused(images):
    X, y = images
    with pytest.raises(ValueError, match=r"module must map a batch to a 2-D tensor.*"
                                         r"\(batch, features\).*torch.nn.Identity"):
        TorchModuleClassifier(nn.Conv2d(1, 2, 3), max_epochs=1).fit(X, y)
    reg = TorchModuleRegressor(max_epochs=2, random_state=0).fit(X, y.astype(float))
    assert reg.predict(X).shape == (len(X),)  # no module: a linear model


def test_a_torchvision_backbone():
    # torchvision's CPU wheel does not import beside this machine's CPU build of
    # torch (PyPI's wheel is built for CUDA): the test runs where it does
    models = pytest.importorskip("torchvision.models")
    backbone = models.resnet18(weights=None)  # weights created here, never downloaded
    backbone.conv1 = nn.Conv2d(1, 64, 3, padding=1, bias=False)
    backbone.fc = nn.Identity()
    rng = np.random.RandomState(0)
    X = rng.rand(32, 1, 16, 16).astype(np.float32)
    y = (X.mean(axis=(1, 2, 3)) > 0.5).astype(int)
    clf = TorchModuleClassifier(backbone, max_epochs=1, freeze="trunk.layer1",
                                random_state=0).fit(X, y)
    mt = MultiTaskClassifier(clf, random_state=0).fit(X, np.c_[y, 1 - y])
    assert mt.predict(X).shape == (32, 2)
