"""
Hyperband against random search
===============================

:class:`~sklearn_mlarch.model_selection.HyperbandSearchCV` tries many
configurations for a few epochs and keeps training only the most promising
ones (Li et al., 2018); a promoted model resumes where it stopped, so no
epoch is spent twice. Given the same number of epochs,
:class:`~sklearn.model_selection.RandomizedSearchCV` can only afford a few
configurations trained to the end. Both tune a CNN on digits here; each
refits its best configuration and is scored on held-out digits.

Run ``python examples/hyperband_vs_random_search.py`` (add ``--quick`` for a
smoke run on tiny settings).
"""

import sys
import time

import matplotlib.pyplot as plt
from scipy.stats import loguniform
from sklearn.model_selection import RandomizedSearchCV, train_test_split

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.model_selection import HyperbandSearchCV
from sklearn_mlarch.plotting import plot_hyperband

quick = "--quick" in sys.argv
X, y = load_digits_images(flat=True)
if quick:
    X, y = X[:300], y[:300]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
max_epochs = 3 if quick else 9
space = {"lr": loguniform(1e-3, 3e-2), "channels": [(4,), (8,), (8, 16), (16, 32)],
         "hidden_sizes": [(32,), (64,)]}
cnn = CNNClassifier(input_shape=(1, 8, 8), dropout=0.0, max_epochs=max_epochs,
                    random_state=0)


def report(name, search, n_candidates, epochs, seconds):
    print(f"{name:<19} {n_candidates:>2} candidates, {epochs:>3.0f} epochs per fold, "
          f"best CV accuracy {search.best_score_:.3f}, "
          f"test accuracy {search.score(X_test, y_test):.3f} ({seconds:.1f} s)")


# %%
# Hyperband: ``max_epochs`` is the resource, from 1 epoch up to ``max_epochs``
# by factors of ``eta=3``.
start = time.perf_counter()
hyperband = HyperbandSearchCV(cnn, space, resource="max_epochs", max_resource=max_epochs,
                              eta=3, cv=2, random_state=0).fit(X_train, y_train)
n_hyperband = int((hyperband.cv_results_["rung"] == 0).sum())
report("HyperbandSearchCV", hyperband, n_hyperband, hyperband.total_resource_,
       time.perf_counter() - start)

# %%
# Random search with the same budget: as many full-length candidates as
# Hyperband's epochs pay for.
n_random = max(1, round(hyperband.total_resource_ / max_epochs))
start = time.perf_counter()
randomized = RandomizedSearchCV(cnn, space, n_iter=n_random, cv=2,
                                random_state=0).fit(X_train, y_train)
report("RandomizedSearchCV", randomized, n_random, n_random * max_epochs,
       time.perf_counter() - start)

# %%
# :func:`~sklearn_mlarch.plotting.plot_hyperband` draws each Hyperband
# candidate's cross-validated accuracy at every rung it reached, one colour
# per bracket; the random search's candidates, each trained for the full
# ``max_epochs``, are the black crosses.
fig, ax = plt.subplots(figsize=(8, 4.5))
plot_hyperband(hyperband, ax=ax)
ax.scatter([max_epochs] * n_random, randomized.cv_results_["mean_test_score"], marker="x",
           s=60, color="black", zorder=4, label="RandomizedSearchCV")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
