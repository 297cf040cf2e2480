import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from sklearn_mlarch.datasets import make_characters  # noqa: E402
from sklearn_mlarch.datasets._characters import THRESHOLD, _FACES  # noqa: E402


def test_shapes_dtypes_and_bookkeeping():
    b = make_characters(n_drawers=3)
    n = b.n_classes * 3
    assert b.data.shape == (n, 1, 28, 28) and b.data.dtype == np.float32
    assert b.data.min() == 0 and b.data.max() == 1
    # strokes on a blank background: most pixels are 0, the border nearly so
    assert np.median(b.data) == 0 and b.data[:, :, 0].mean() < 0.01
    assert b.target.dtype == np.int64 and np.array_equal(np.unique(b.target),
                                                         np.arange(b.n_classes))
    assert np.all(np.bincount(b.target) == 3)  # n_drawers rows per class
    assert np.array_equal(b.drawer, np.tile(np.arange(3), b.n_classes))
    assert b.target_names.shape == b.alphabet_names.shape == (b.n_classes,)
    assert len(set(b.target_names)) == b.n_classes
    assert np.array_equal(b.alphabet, b.alphabet_names[b.target])
    assert set(b.font) <= set(_FACES) and set(b.split) == {"train", "val", "test"}
    # classes are numbered alphabet by alphabet
    runs = [a for i, a in enumerate(b.alphabet_names) if i == 0 or a != b.alphabet_names[i - 1]]
    assert len(runs) == len(set(runs)) == b.n_alphabets >= 20
    assert 1000 <= b.n_classes <= 2500
    assert "classes" in b.DESCR and "near-duplicates" in b.DESCR
    # the drawers of a class take different faces
    assert all(len(set(b.font[b.target == c])) == 3 for c in range(0, b.n_classes, 97))


def test_dedupe_dropped_the_lookalikes_of_other_scripts():
    names = set(make_characters(n_drawers=1).target_names)
    assert {"A", "E", "F", "Ж", "Ա"} <= names
    assert not names & {"\u0391", "\u0410", "o"}  # Greek and Cyrillic A, o like O


def test_seeded():
    a = make_characters(n_drawers=2, random_state=0)
    b = make_characters(n_drawers=2, random_state=0)
    np.testing.assert_array_equal(a.data, b.data)
    # the uncached path (a RandomState) draws the same distortions
    c = make_characters(n_drawers=2, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(a.data, c.data)
    d = make_characters(n_drawers=2, random_state=1)
    assert not np.array_equal(a.data, d.data)
    # only the distortions change: same classes, splits and faces
    for key in ["target", "target_names", "split", "font"]:
        np.testing.assert_array_equal(a[key], d[key])
    # without distortion the seed is irrelevant, and the images differ from distorted ones
    e = make_characters(n_drawers=2, distortion=0, random_state=0)
    f = make_characters(n_drawers=2, distortion=0.0, random_state=5)
    np.testing.assert_array_equal(e.data, f.data)
    assert not np.array_equal(a.data, e.data)


def test_splits_share_no_alphabet_class_or_near_duplicate():
    n_faces = len(_FACES)
    b = make_characters(n_drawers=n_faces, distortion=0)
    per_class = {s: set(b.target[b.split == s]) for s in ["train", "val", "test"]}
    assert not (per_class["train"] & per_class["val"] or per_class["train"] & per_class["test"]
                or per_class["val"] & per_class["test"])
    alphabets = {s: set(b.alphabet[b.split == s]) for s in ["train", "val", "test"]}
    assert {s: set(v) for s, v in b.splits.items()} == alphabets
    assert not (alphabets["train"] & alphabets["val"] or alphabets["train"] & alphabets["test"]
                or alphabets["val"] & alphabets["test"])
    fractions = {s: len(v) / b.n_classes for s, v in per_class.items()}
    assert abs(fractions["train"] - 0.6) < 0.05 and abs(fractions["test"] - 0.25) < 0.05

    # the class means over their faces, as the dedupe compared them
    images = b.data.reshape(b.n_classes, n_faces, -1).astype(np.float64)
    fonts = b.font.reshape(b.n_classes, n_faces)
    means = np.stack([images[c][np.unique(fonts[c], return_index=True)[1]].mean(axis=0)
                      for c in range(b.n_classes)])
    assert min(len(set(f)) for f in fonts) >= 6  # a class needs 6 faces
    means -= means.mean(axis=1, keepdims=True)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    split = b.split[::n_faces]
    for s, t in [("train", "val"), ("train", "test"), ("val", "test")]:
        corr = means[split == s] @ means[split == t].T
        assert corr.max() <= THRESHOLD + 1e-6, (s, t, corr.max())
    corr = means @ means.T
    np.fill_diagonal(corr, 0)
    assert corr.max() <= THRESHOLD + 1e-6  # within the splits too


def test_returns_copies():
    a = make_characters(n_drawers=2)
    data, target, names = a.data.copy(), a.target.copy(), a.target_names.copy()
    a.data[:] = 0.5
    a.target[:] = -1
    a.target_names[:] = "\u2603"
    a.splits["train"].append("Klingon")
    b = make_characters(n_drawers=2)
    np.testing.assert_array_equal(b.data, data)
    np.testing.assert_array_equal(b.target, target)
    np.testing.assert_array_equal(b.target_names, names)
    assert "Klingon" not in b.splits["train"]


def test_other_image_sizes():
    small = make_characters(n_drawers=1, image_size=8, random_state=0)
    assert small.data.shape[1:] == (1, 8, 8) and small.data.max() > 0.9
    big = make_characters(n_drawers=1, image_size=40, distortion=0)  # glyphs drawn anew
    assert big.data.shape[1:] == (1, 40, 40) and big.n_classes == small.n_classes


@pytest.mark.parametrize("kwargs, match", [
    ({"n_drawers": 0}, "n_drawers"), ({"n_drawers": 2.0}, "n_drawers"),
    ({"n_drawers": True}, "n_drawers"), ({"image_size": 7}, "image_size"),
    ({"image_size": "28"}, "image_size"), ({"distortion": -0.1}, "distortion"),
    ({"distortion": float("nan")}, "distortion"), ({"distortion": "1"}, "distortion"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_characters(**kwargs)


def test_needs_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        make_characters(n_drawers=1)
