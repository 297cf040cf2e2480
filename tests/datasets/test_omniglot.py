import numpy as np
import pytest

from sklearn_mlarch.datasets import load_omniglot

pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402

ALPHABETS = {"background": ["Alpha", "Beta"], "evaluation": ["Gamma", "Delta"]}
N_CHARACTERS, N_DRAWERS, SIDE = 3, 4, 105


def _stroke(index, drawer):
    """An L-shaped stroke that differs by character and drawer, in 105x105 pixels."""
    x0, y0 = 10 + 4 * index, 10 + 3 * drawer
    return [(x0, y0, x0 + 14, y0 + 60), (x0, y0 + 46, x0 + 50 - drawer, y0 + 60)]


@pytest.fixture(scope="module")
def omniglot(tmp_path_factory):
    """A miniature of the published layout: black strokes on white, 1-bit PNGs."""
    root = tmp_path_factory.mktemp("omniglot")
    index = 0
    for subset, alphabets in ALPHABETS.items():
        for alphabet in alphabets:
            for c in range(1, N_CHARACTERS + 1):
                folder = root / f"images_{subset}" / alphabet / f"character{c:02d}"
                folder.mkdir(parents=True)
                index += 1
                for drawer in range(1, N_DRAWERS + 1):
                    image = Image.new("1", (SIDE, SIDE), 1)
                    draw = ImageDraw.Draw(image)
                    for box in _stroke(index, drawer):
                        draw.rectangle(box, fill=0)
                    image.save(folder / f"{index:04d}_{drawer:02d}.png")
    (root / "images_background" / ".DS_Store").write_text("")  # ignored
    return root


def test_shapes_inversion_and_bookkeeping(omniglot):
    b = load_omniglot(omniglot)
    n_classes = 2 * N_CHARACTERS
    assert b.data.shape == (n_classes * N_DRAWERS, 1, 28, 28) and b.data.dtype == np.float32
    assert b.n_classes == n_classes and b.n_alphabets == 2
    assert b.data.min() >= 0 and b.data.max() <= 1
    assert np.all(b.data[:, 0, :2, :2] < 0.05)  # the white corner is background: 0
    assert np.all(b.data.reshape(len(b.data), -1).max(axis=1) > 0.9)  # black strokes: 1
    np.testing.assert_array_equal(b.target, np.repeat(np.arange(n_classes), N_DRAWERS))
    np.testing.assert_array_equal(b.drawer, np.tile(np.arange(1, N_DRAWERS + 1), n_classes))
    assert list(b.target_names[:4]) == ["Alpha/character01", "Alpha/character02",
                                        "Alpha/character03", "Beta/character01"]
    assert list(b.alphabet_names) == ["Alpha"] * 3 + ["Beta"] * 3
    assert np.array_equal(b.alphabet, b.alphabet_names[b.target])
    assert set(b.split) == {"background"} and set(b.rotation) == {0}
    assert "6 classes from 2 alphabets" in b.DESCR


def test_full_size_is_the_inverted_png(omniglot):
    b = load_omniglot(omniglot, subset="evaluation", image_size=SIDE)
    assert b.data.shape[1:] == (1, SIDE, SIDE) and b.n_classes == 6
    expected = np.zeros((SIDE, SIDE), dtype=np.float32)
    for x0, y0, x1, y1 in _stroke(7, 2):  # Gamma/character01 (index 7), drawer 2
        expected[y0:y1 + 1, x0:x1 + 1] = 1
    row = np.flatnonzero((b.target_names[b.target] == "Gamma/character01") & (b.drawer == 2))
    np.testing.assert_array_equal(b.data[row[0], 0], expected)


def test_all_subsets(omniglot):
    b = load_omniglot(omniglot, subset="all")
    assert b.n_classes == 12 and b.n_alphabets == 4 and len(b.data) == 12 * N_DRAWERS
    assert list(b.split[:: N_DRAWERS]) == ["background"] * 6 + ["evaluation"] * 6
    assert set(b.alphabet[b.split == "evaluation"]) == {"Gamma", "Delta"}


def test_rotations(omniglot):
    plain = load_omniglot(omniglot)
    b = load_omniglot(omniglot, rotations=True)
    assert b.n_classes == 4 * plain.n_classes and len(b.data) == 4 * len(plain.data)
    assert list(b.target_names[:4]) == ["Alpha/character01", "Alpha/character01 rot90",
                                        "Alpha/character01 rot180", "Alpha/character01 rot270"]
    assert np.all(np.bincount(b.target) == N_DRAWERS)
    for c in range(plain.n_classes):
        original = plain.data[plain.target == c]
        for k in range(4):
            rows = b.target == 4 * c + k
            assert set(b.rotation[rows]) == {90 * k}
            np.testing.assert_array_equal(b.drawer[rows], plain.drawer[plain.target == c])
            np.testing.assert_array_equal(b.data[rows], np.rot90(original, k, axes=(2, 3)))
    assert np.array_equal(b.alphabet, b.alphabet_names[b.target])


def test_missing_and_wrong_folders(omniglot, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_omniglot(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("")
    with pytest.raises(NotADirectoryError):
        load_omniglot(tmp_path / "file.txt")
    with pytest.raises(FileNotFoundError,
                       match="expected the folder images_background/.*found file.txt"):
        load_omniglot(tmp_path)
    (tmp_path / "images_background.zip").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="not extracted: extract it"):
        load_omniglot(tmp_path)
    with pytest.raises(FileNotFoundError, match="not the subset folder"):
        load_omniglot(omniglot / "images_background")
    only_background = tmp_path / "bg"
    (only_background / "images_background" / "Alpha" / "character01").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="character01 has no PNG files"):
        load_omniglot(only_background)
    with pytest.raises(FileNotFoundError, match="images_evaluation/"):
        load_omniglot(only_background, subset="evaluation")


@pytest.mark.parametrize("kwargs, match", [
    ({"subset": "train"}, "subset"), ({"image_size": 0}, "image_size"),
    ({"image_size": 28.0}, "image_size"), ({"rotations": "yes"}, "rotations"),
])
def test_bad_arguments(omniglot, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_omniglot(omniglot, **kwargs)
