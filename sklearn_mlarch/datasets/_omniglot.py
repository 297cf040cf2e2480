"""Omniglot (Lake, Salakhutdinov and Tenenbaum 2015) read from a folder the user has."""

from __future__ import annotations

import os
import re
from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

_SUBSETS = {"background": ("background",), "evaluation": ("evaluation",),
            "all": ("background", "evaluation")}
_SOURCE = ("github.com/brendenlake/omniglot (python/images_background.zip and "
           "python/images_evaluation.zip)")
_FILE = re.compile(r"^(\d+)_(\d+)$")


def _visible_dirs(folder):
    return sorted(e.name for e in os.scandir(folder)
                  if e.is_dir() and not e.name.startswith((".", "__")))


def _subset_folder(root, subset):
    """``root/images_<subset>``, or an error that says what is there instead and what to do."""
    folder = os.path.join(root, f"images_{subset}")
    if os.path.isdir(folder):
        return folder
    found = sorted(os.listdir(root))
    shown = ", ".join(found[:10]) + (", ..." if len(found) > 10 else "") or "nothing"
    hint = ""
    if f"images_{subset}.zip" in found:
        hint = (f" The zip file is there but not extracted: extract it in place, e.g. "
                f"python -m zipfile -e {os.path.join(root, f'images_{subset}.zip')} {root}")
    elif os.path.basename(os.path.normpath(root)).startswith("images_"):
        hint = " Pass the folder that holds images_background/, not the subset folder itself."
    elif "python" in found:
        hint = (" This looks like the omniglot repository: pass its python/ folder, with "
                "the zip files there extracted.")
    raise FileNotFoundError(
        f"{root} is not the Omniglot layout: expected the folder images_{subset}/ "
        f"(<Alphabet>/<characterNN>/<id>_<drawer>.png, from the extracted zip files of "
        f"{_SOURCE}); found {shown}.{hint}")


def _read(png, image_size):
    """One Omniglot PNG, downsampled with Lanczos, strokes 1 and background 0."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("L").resize((image_size, image_size), Image.LANCZOS)
    return 1.0 - np.asarray(small, dtype=np.float32) / 255.0


def load_omniglot(path: str | os.PathLike[str], *, subset: str = "background",
                  image_size: int = 28, rotations: bool = False) -> Bunch:
    """Omniglot's handwritten characters, read from the published folders.

    Omniglot (Lake, Salakhutdinov and Tenenbaum, Science 2015) has 1,623
    characters from 50 alphabets, each drawn once by 20 people: 964
    characters of 30 alphabets in ``images_background`` (for learning) and
    659 of 20 in ``images_evaluation``. Nothing is downloaded: get the zip
    files from github.com/brendenlake/omniglot (``python/``), extract them,
    and pass the folder that holds ``images_background/`` and
    ``images_evaluation/``, each laid out as
    ``<Alphabet>/<characterNN>/<id>_<drawer>.png`` (105x105 pixels, black
    strokes on white).

    Parameters
    ----------
    path : str or path-like
        The folder holding ``images_background/`` and/or
        ``images_evaluation/``.
    subset : {'background', 'evaluation', 'all'}, default='background'
        Which folders to read; ``'all'`` reads both, background first.
    image_size : int, default=28
        Side of the returned images; the few-shot papers use 28 (Santoro
        et al. 2016; Finn et al. 2017). Images are downsampled with
        Lanczos filtering (as in the MAML code) and inverted.
    rotations : bool, default=False
        Add each character rotated by 90, 180 and 270 degrees
        (counter-clockwise, as :func:`numpy.rot90`) as three new classes,
        the augmentation of the papers: 4 times the classes.

    Returns
    -------
    data : Bunch
        ``data`` : ndarray of shape (n, 1, image_size, image_size), float32,
        strokes 1 and background 0; ``target`` : ndarray of shape (n,),
        int64 class ids numbered alphabet by alphabet (the rotations of
        class ``c`` of the unrotated numbering are ``4c + 1 .. 4c + 3``);
        ``alphabet``, ``split`` (``'background'`` or ``'evaluation'``),
        ``drawer`` (1-20, from the file name) and ``rotation`` (degrees):
        ndarrays of shape (n,); ``target_names`` and ``alphabet_names``:
        ndarrays of shape (n_classes,), e.g. ``'Latin/character01 rot90'``;
        ``n_classes``, ``n_alphabets`` and ``DESCR``.

    Examples
    --------
    >>> b = load_omniglot("omniglot/python", subset="all", rotations=True)  # doctest: +SKIP
    >>> b.data.shape, b.n_classes  # doctest: +SKIP
    ((129840, 1, 28, 28), 6492)
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {sorted(_SUBSETS)}, got {subset!r}.")
    if (isinstance(image_size, bool) or not isinstance(image_size, Integral)
            or image_size < 1):
        raise ValueError(f"image_size must be a positive int, got {image_size!r}.")
    if not isinstance(rotations, (bool, np.bool_)):
        raise ValueError(f"rotations must be True or False, got {rotations!r}.")
    try:
        import PIL  # noqa: F401
    except ImportError as exc:
        raise ImportError("load_omniglot reads the PNGs with Pillow: pip install pillow "
                          "(matplotlib installs it too)") from exc
    root = os.fspath(path)
    if not os.path.exists(root):
        raise FileNotFoundError(
            f"Omniglot folder {root} does not exist. Download the zip files of {_SOURCE}, "
            "extract them, and pass the folder that holds images_background/.")
    if not os.path.isdir(root):
        raise NotADirectoryError(
            f"{root} is a file; pass the folder that holds the extracted "
            "images_background/ and images_evaluation/ folders.")

    images, target, drawer, row_split, names, alphabets = [], [], [], [], [], []
    for split in _SUBSETS[subset]:
        folder = _subset_folder(root, split)
        found = _visible_dirs(folder)
        if not found:
            raise FileNotFoundError(f"{folder} has no alphabet folders: is the extraction "
                                    "complete?")
        for alphabet in found:
            characters = _visible_dirs(os.path.join(folder, alphabet))
            if not characters:
                raise FileNotFoundError(f"alphabet folder {os.path.join(folder, alphabet)} "
                                        "has no character folders: is the extraction "
                                        "complete?")
            for character in characters:
                where = os.path.join(folder, alphabet, character)
                pngs = sorted(f for f in os.listdir(where) if f.lower().endswith(".png"))
                if not pngs:
                    raise FileNotFoundError(f"character folder {where} has no PNG files: is "
                                            "the extraction complete?")
                for png in pngs:
                    match = _FILE.match(os.path.splitext(png)[0])
                    if match is None:
                        raise ValueError(f"{os.path.join(where, png)} is not named "
                                         "<id>_<drawer>.png as in Omniglot.")
                    images.append(_read(os.path.join(where, png), image_size))
                    drawer.append(int(match.group(2)))
                    target.append(len(names))
                    row_split.append(split)
                names.append(f"{alphabet}/{character}")
                alphabets.append(alphabet)

    data = np.stack(images)
    target = np.asarray(target, dtype=np.int64)
    drawer = np.asarray(drawer, dtype=np.int64)
    row_split = np.asarray(row_split)
    names, alphabets = np.asarray(names), np.asarray(alphabets)
    rotation = np.zeros(len(data), dtype=np.int64)
    if rotations:
        data = np.concatenate([np.rot90(data, k, axes=(1, 2)) for k in range(4)])
        rotation = np.repeat(np.arange(4) * 90, len(target))
        target = np.concatenate([4 * target + k for k in range(4)])
        drawer, row_split = np.tile(drawer, 4), np.tile(row_split, 4)
        order = np.lexsort((drawer, target))  # rows class by class, as unrotated
        data, target, drawer = data[order], target[order], drawer[order]
        row_split, rotation = row_split[order], rotation[order]
        names = np.asarray([name + ("" if k == 0 else f" rot{90 * k}")
                            for name in names for k in range(4)])
        alphabets = np.repeat(alphabets, 4)

    n_classes, n_alphabets = len(names), len(set(alphabets.tolist()))
    per_split = ", ".join(f"{s}: {np.unique(target[row_split == s]).size} classes"
                          for s in _SUBSETS[subset])
    descr = (f"Omniglot (Lake et al. 2015) read from {root}: {len(data)} images of "
             f"{n_classes} classes from {n_alphabets} alphabets ({per_split}), "
             f"{image_size}x{image_size}, strokes 1 and background 0"
             + (", with each character rotated by 90, 180 and 270 degrees as new classes."
                if rotations else "."))
    return Bunch(data=np.ascontiguousarray(data[:, None], dtype=np.float32), target=target,
                 alphabet=alphabets[target], split=row_split, drawer=drawer,
                 rotation=rotation, target_names=names, alphabet_names=alphabets,
                 n_classes=n_classes, n_alphabets=n_alphabets, DESCR=descr)
