"""
An RNN and a CNN on sequences of varying length
===============================================

:class:`~sklearn_mlarch.RNNClassifier` and
:class:`~sklearn_mlarch.CNNClassifier` both take a list of ``(C, L_i)``
arrays whose lengths differ: C channels of L_i time steps, channels first,
as aeon and sktime hold series. The RNN packs the
sequences; the CNN leaves the positions after each series' end out of
every layer. Either way a sequence's prediction never depends on the others
in its batch, and ``predict`` also takes sequences longer than any seen in
``fit``.
The data are noisy sine waves whose frequency gives the class: telling
them apart needs the order of the steps.

Run ``python examples/rnn_variable_length_sequences.py`` (add ``--quick``
for a smoke run on tiny settings).
"""

import sys

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_mlarch import CNNClassifier, RNNClassifier
from sklearn_mlarch.datasets import make_sequence_classification
from sklearn_mlarch.plotting import plot_history

quick = "--quick" in sys.argv
X, y = make_sequence_classification(120 if quick else 600, n_timesteps=30,
                                    variable_length=True, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
lengths = [s.shape[1] for s in X]  # each series is (C, L_i)
print(f"{len(X)} sequences of {min(lengths)} to {max(lengths)} steps "
      f"and {X[0].shape[0]} channels")

# %%
# The first channel of three sequences of each class: each stops at its own
# length.
fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True)
for label, ax in enumerate(axes):
    for i in np.flatnonzero(y == label)[:3]:
        ax.plot(X[i][0], marker=".")
    ax.set_title(f"class {label}")
    ax.set_xlabel("time step")
axes[0].set_ylabel("channel 0")
fig.tight_layout()

# %%
# A GRU of 32 units per direction is plenty for three frequencies.
clf = RNNClassifier(cell="gru", hidden_size=32, max_epochs=2 if quick else 20,
                    random_state=0)
clf.fit(X_train, y_train)
print(f"RNNClassifier test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# One sequence predicted alone or among others of different lengths gets the
# same probabilities: packing keeps padding out of the computation.
alone = clf.predict_proba(X_test[:1])
among = clf.predict_proba(X_test[:20])[:1]
print(f"same prediction alone and in a batch: {np.allclose(alone, among, atol=1e-6)}")

# %%
# The CNN reads the same list of series, each at its own length: the
# positions after a series' end are left out of its convolutions, batch
# norm and global average pooling.
cnn = CNNClassifier(max_epochs=2 if quick else 40, random_state=0)
cnn.fit(X_train, y_train)
print(f"CNNClassifier test accuracy {cnn.score(X_test, y_test):.3f}")

# %%
# :func:`~sklearn_mlarch.plotting.plot_history` draws each network's
# training loss per epoch.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
plot_history(clf, ax=axes[0])
plot_history(cnn, ax=axes[1])
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
