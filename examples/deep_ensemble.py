"""
A deep ensemble: five CNNs trained as one network
=================================================

:class:`~sklearn_mlarch.DeepEnsembleClassifier` wraps a
:class:`~sklearn_mlarch.CNNClassifier`, as scikit-learn's
``BaggingClassifier(estimator)`` does, and trains ``n_estimators`` copies of
its network, each from its own initialisation (``bootstrap=True`` gives each
its own bootstrap sample too), as one network with grouped layers: one training loop and one forward pass serve
them all, much faster than fitting them one after the other. Its
probabilities are the members' average (Lakshminarayanan et al., 2017).
The digits on which the members disagree are those it gets wrong most
often: their disagreement measures its uncertainty.

Run ``python examples/deep_ensemble.py`` (add ``--quick`` for a smoke run on
tiny settings).
"""

import sys
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import BaggingClassifier
from sklearn.model_selection import train_test_split

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.ensemble import DeepEnsembleClassifier

quick = "--quick" in sys.argv
X, y = load_digits_images(flat=True)  # flat rows, as scikit-learn's Bagging needs
if quick:
    X, y = X[:300], y[:300]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# The same small CNN alone, bagged five times by scikit-learn (trained one
# after the other) and wrapped by the deep ensemble (its five members trained
# together). The wrapped CNN holds the architecture and the training settings;
# the ensemble only says how many members.
small = dict(input_shape=(1, 8, 8), channels=(8, 16), hidden_sizes=(32,), dropout=0.0,
             max_epochs=2 if quick else 20, random_state=0)
models = {"CNNClassifier": CNNClassifier(**small),
          "BaggingClassifier(5 CNNs)": BaggingClassifier(CNNClassifier(**small),
                                                         n_estimators=5, random_state=0),
          "DeepEnsembleClassifier(5)": DeepEnsembleClassifier(CNNClassifier(**small),
                                                              n_estimators=5)}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"{name:<26} test accuracy {model.score(X_test, y_test):.3f} "
          f"(fit {time.perf_counter() - start:.1f} s)")

# %%
# ``predict_member`` gives each member's probabilities,
# (n_samples, n_estimators, n_classes). The spread of the members' votes is a
# measure of uncertainty that a single network does not have.
ensemble = models["DeepEnsembleClassifier(5)"]
votes = ensemble.predict_member(X_test).argmax(axis=2)  # (n_samples, n_estimators)
agree = (votes == votes[:, :1]).all(axis=1)
right = ensemble.predict(X_test) == y_test


def accuracy(rows):
    return f"{right[rows].mean():.3f}" if rows.any() else "n/a"


print(f"members agree on {agree.mean():.3f} of the test digits: accuracy {accuracy(agree)} "
      f"there, {accuracy(~agree)} elsewhere")

# %%
# The test digits that divide the members most: each title gives the five
# members' votes, then the true digit.
majority = np.array([np.bincount(v).max() for v in votes])  # members voting as most do
disputed = np.argsort(majority, kind="stable")[:8]
fig, axes = plt.subplots(1, len(disputed), figsize=(1.4 * len(disputed), 2.2))
for ax, i in zip(axes, disputed):
    ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"votes {''.join(map(str, ensemble.classes_[votes[i]]))}\ntrue {y_test[i]}",
                 fontsize=9, color="C3" if not right[i] else "black")
    ax.set_axis_off()
fig.suptitle("Digits the members disagree on (red: the ensemble is wrong)")
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
