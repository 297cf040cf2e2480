"""``summary()``: a fitted network's blocks, output shapes and parameter counts."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_mlarch import (CNNClassifier, DeepEnsembleClassifier, MultiTaskClassifier,
                            RNNClassifier, load_model, save_model)
from sklearn_mlarch.utils import ModelSummary

# 40 tiny 1x8x8 images, two classes: every fit here takes one epoch
X = np.random.RandomState(0).rand(40, 1, 8, 8)
y = np.arange(40) % 2


def tiny_cnn(**params):
    return CNNClassifier(channels=(4,), hidden_sizes=(8,), max_epochs=1, random_state=0,
                         **params)


@pytest.fixture(scope="module")
def cnn():
    return tiny_cnn().fit(X, y)


def rows(summary):
    return {row.name: row for row in summary.rows}


def test_parameter_counts_are_the_networks(cnn):
    summary = cnn.summary()
    module = cnn.net_.module_
    assert isinstance(summary, ModelSummary)
    assert summary.total_params == sum(p.numel() for p in module.parameters())
    assert summary.trainable_params == summary.total_params  # nothing frozen
    assert summary.frozen_params == 0
    # every parameter is in exactly one row
    assert sum(r.n_params for r in summary.rows) == summary.total_params
    for name, row in rows(summary).items():
        block = module.get_submodule(name)
        assert row.n_params == sum(p.numel() for p in block.parameters())
        assert row.type == type(block).__name__


def test_cnn_output_shapes(cnn):
    summary = cnn.summary()
    assert list(rows(summary)) == ["trunk.conv0", "trunk.flatten", "trunk.dense0", "head"]
    shapes = {name: row.output_shape for name, row in rows(summary).items()}
    # 4 channels of 8x8 pooled to 4x4, flattened to 64, a dense layer of 8, 2 classes
    assert shapes == {"trunk.conv0": "(N, 4, 4, 4)", "trunk.flatten": "(N, 64)",
                      "trunk.dense0": "(N, 8)", "head": "(N, 2)"}
    assert summary.output_shape == "(N, 2)"
    assert summary.input_shape == (1, 8, 8)
    # the same shapes as the network's own forward pass on a batch of 5
    module = cnn.net_.module_
    module.eval()
    with torch.no_grad():
        conv = module.trunk.conv0(torch.zeros(5, 1, 8, 8))
    module.train()
    assert tuple(conv.shape) == (5, 4, 4, 4)


def test_depth_lists_coarser_or_finer_blocks(cnn):
    assert [r.name for r in cnn.summary(depth=1).rows] == ["trunk", "head"]
    finer = [r.name for r in cnn.summary(depth=3).rows]
    assert "trunk.conv0.conv" in finer and "trunk.conv0.norm" in finer
    with pytest.raises(ValueError, match="depth must be a positive int"):
        cnn.summary(depth=0)


def test_rnn_output_shapes():
    # 8 channels of 8 steps; a bidirectional GRU of 3 units gives 6 features
    rnn = RNNClassifier(hidden_size=3, max_epochs=1, random_state=0).fit(X.reshape(40, 8, 8), y)
    summary = rnn.summary()
    assert {r.name: r.output_shape for r in summary.rows} == {"trunk.rnn": "(N, 6)",
                                                              "head": "(N, 2)"}
    assert summary.input_shape == (8, 8)
    assert summary.total_params == sum(p.numel() for p in rnn.net_.module_.parameters())


def test_frozen_blocks_are_reported_frozen(tmp_path):
    clf = tiny_cnn(freeze="trunk").fit(X, y)
    module = clf.net_.module_
    summary = clf.summary()
    trunk = sum(p.numel() for p in module.trunk.parameters())
    assert summary.frozen_params == trunk > 0
    assert summary.trainable_params == sum(p.numel() for p in module.parameters()
                                           if p.requires_grad)
    by_name = rows(summary)
    assert by_name["trunk.conv0"].frozen == by_name["trunk.dense0"].frozen == "yes"
    assert by_name["trunk.conv0"].n_trainable == 0
    assert by_name["head"].frozen == "" and by_name["head"].n_trainable == 18
    assert by_name["trunk.flatten"].frozen == ""  # no parameters to freeze
    assert "Frozen params: " + f"{trunk:,}" in str(summary)
    # a loaded model (every parameter built trainable) keeps the freeze
    loaded = load_model(save_model(clf, tmp_path / "frozen"))
    assert loaded.summary().frozen_params == trunk


def test_partly_frozen_block():
    clf = tiny_cnn(freeze="trunk.*.weight").fit(X, y)
    assert rows(clf.summary())["trunk.dense0"].frozen == "partly"


def test_summary_leaves_the_network_as_it_was(cnn):
    module = cnn.net_.module_
    module.train()
    module.trunk.conv0.norm.eval()  # as a frozen block's batch norm is in training
    modes = [m.training for m in module.modules()]
    state = {k: v.clone() for k, v in module.state_dict().items()}
    grads = [p.requires_grad for p in module.parameters()]
    rng = torch.get_rng_state()
    cnn.summary()
    assert [m.training for m in module.modules()] == modes
    assert all(torch.equal(state[k], v) for k, v in module.state_dict().items())
    assert [p.requires_grad for p in module.parameters()] == grads
    assert torch.equal(torch.get_rng_state(), rng)  # the dummy batch has its own generator
    module.trunk.conv0.norm.train()


def test_not_fitted_raises():
    with pytest.raises(NotFittedError):
        tiny_cnn().summary()
    with pytest.raises(NotFittedError):
        DeepEnsembleClassifier(tiny_cnn()).summary()


def test_text_and_html(cnn):
    summary = cnn.summary()
    text = str(summary)
    assert repr(summary) == text
    assert text.splitlines()[0] == "CNNClassifier: CNNNetwork"
    for name in ("trunk.conv0", "head", "Total params: ", "Trainable params: "):
        assert name in text
    html = summary._repr_html_()
    assert html.count("<tr>") == len(summary.rows) + 1  # the header and one per block
    assert "<td style='text-align:left'>trunk.conv0</td>" in html


def test_estimator_html_repr_shows_the_summary_when_fitted(cnn):
    unfitted = tiny_cnn()
    assert "Network summary" not in unfitted._repr_html_inner()
    assert "Network summary" not in unfitted._repr_mimebundle_().get("text/html", "")
    fitted_html = cnn._repr_html_inner()
    assert "Network summary" in fitted_html and "<table>" in fitted_html
    assert "trunk.conv0" in fitted_html
    # scikit-learn's diagram is still there, the summary after it
    assert fitted_html.index("sk-top-container") < fitted_html.index("Network summary")
    assert "Network summary" in cnn._repr_mimebundle_()["text/html"]


@pytest.mark.parametrize("make", [
    lambda: DeepEnsembleClassifier(tiny_cnn(), n_estimators=2, random_state=0).fit(X, y),
    lambda: MultiTaskClassifier(tiny_cnn(), random_state=0).fit(X, np.c_[y, 1 - y]),
], ids=["deep_ensemble", "multitask"])
def test_meta_estimators(make):
    est = make()
    summary = est.summary()
    module = est.net_.module_
    assert summary.total_params == sum(p.numel() for p in module.parameters())
    assert summary.input_shape == (1, 8, 8)
    assert summary.title.startswith(type(est).__name__)
    assert all(r.output_shape != "-" for r in summary.rows)
    assert "Network summary" in est._repr_html_inner()
    if isinstance(est, MultiTaskClassifier):
        assert {"heads.0", "heads.1"} <= set(rows(summary))
        assert summary.output_shape == "(N, 2), (N, 2)"  # one output per task
