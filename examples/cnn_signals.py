"""
A CNN on 1-D signals
====================

Signals go in as ``(n_samples, channels, length)`` arrays. For them
:class:`~sklearn_mlarch.CNNClassifier` defaults to the fully convolutional
network (FCN) of Wang et al. (2017): three convolutions, then global average
pooling over time, so a pattern counts wherever it occurs. Here each signal
is noise with one short burst of oscillation at a random place, and the
class is the burst's frequency. Models that treat each time step as a fixed
feature (logistic regression, k-nearest neighbours) struggle; the FCN does
not.

Run ``python examples/cnn_signals.py`` (add ``--quick`` for a smoke run on
tiny settings).
"""

import sys

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from sklearn_mlarch import CNNClassifier


def make_bursts(n_samples, length=64, burst=16, n_classes=3, random_state=0):
    """Gaussian noise plus one windowed sine burst; its frequency is the class."""
    rng = np.random.RandomState(random_state)
    y = rng.randint(n_classes, size=n_samples)
    X = 0.5 * rng.randn(n_samples, 1, length)
    t = np.arange(burst)
    for i, label in enumerate(y):
        start = rng.randint(length - burst)
        phase = rng.uniform(0, 2 * np.pi)
        X[i, 0, start:start + burst] += 2 * np.hanning(burst) * np.sin(
            2 * np.pi * (label + 1) * t / burst + phase)
    return X, y


quick = "--quick" in sys.argv
X, y = make_bursts(90 if quick else 400)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
print(f"signals: {X.shape[0]} of shape {X.shape[1:]} (channels, length), "
      f"{len(np.unique(y))} classes")

# %%
# Two signals of each class: the burst's frequency is the class, its place
# is random.
fig, axes = plt.subplots(3, 2, figsize=(9, 5), sharex=True, sharey=True)
for label, row in enumerate(axes):
    for ax, i in zip(row, np.flatnonzero(y == label)):
        ax.plot(X[i, 0], color=f"C{label}")
    row[0].set_ylabel(f"class {label}")
for ax in axes[-1]:
    ax.set_xlabel("time step")
fig.suptitle("Noise with one burst whose frequency is the class")
fig.tight_layout()

# %%
# No architecture parameter is given: 3-D input selects the FCN, whose size
# does not depend on the signal's length. The scikit-learn baselines see the
# same signals as flat rows of 64 values.
cnn = CNNClassifier(max_epochs=2 if quick else 15, random_state=0)
cnn.fit(X_train, y_train)
scores = {"CNNClassifier (FCN)": cnn.score(X_test, y_test)}
print(f"{'CNNClassifier (FCN)':<22} test accuracy {scores['CNNClassifier (FCN)']:.3f}")
flat_train, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
for model in [LogisticRegression(max_iter=1000), KNeighborsClassifier()]:
    model.fit(flat_train, y_train)
    scores[type(model).__name__] = model.score(flat_test, y_test)
    print(f"{type(model).__name__:<22} test accuracy {scores[type(model).__name__]:.3f}")

# %%
# The test accuracies side by side (chance is 1/3).
fig, ax = plt.subplots(figsize=(7, 3))
bars = ax.barh(list(scores), list(scores.values()), color=["C0", "C7", "C7"])
ax.bar_label(bars, fmt="%.3f", padding=3)
ax.axvline(1 / 3, color="gray", linestyle=":", label="chance")
ax.set_xlim(0, 1.1)
ax.invert_yaxis()
ax.set_xlabel("test accuracy")
ax.legend(loc="lower right")
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
