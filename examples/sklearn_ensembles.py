"""
Bagging, boosting and stacking with scikit-learn
================================================

The package's estimators take flat rows (with ``input_shape``) and
``sample_weight``, and expose ``predict_proba``, so scikit-learn's own
ensembles use them unchanged: :class:`~sklearn.ensemble.BaggingClassifier`
trains CNNs on bootstrap samples, :class:`~sklearn.ensemble.AdaBoostClassifier`
reweights the samples between CNNs, and
:class:`~sklearn.ensemble.StackingClassifier` learns how to combine a CNN
and an RNN from their cross-validated probabilities.

Run ``python examples/sklearn_ensembles.py`` (add ``--quick`` for a smoke
run on tiny settings).
"""

import sys
import time

import matplotlib.pyplot as plt
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_mlarch import CNNClassifier, RNNClassifier
from sklearn_mlarch.datasets import load_digits_images

quick = "--quick" in sys.argv
X, y = load_digits_images(flat=True)
if quick:
    X, y = X[:300], y[:300]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Small, fast members: an ensemble gains from many cheap models. Bagging
# could train them in parallel with ``n_jobs=2``; at this size, starting the
# worker processes costs more than it saves (see the Dask example for
# parallel training).
epochs = 2 if quick else 10
cnn = CNNClassifier(input_shape=(1, 8, 8), channels=(8, 16), hidden_sizes=(32,),
                    dropout=0.0, max_epochs=epochs, random_state=0)


def rows_as_steps(X):
    """Flat 8x8 images as (C, L) series: the 8 rows are the time steps, of 8 channels."""
    return X.reshape(-1, 8, 8).transpose(0, 2, 1)


# the RNN reads (n, C, L) series, so a transformer turns each image's rows
# into time steps before it
rnn = make_pipeline(FunctionTransformer(rows_as_steps),
                    RNNClassifier(hidden_size=32, max_epochs=epochs, random_state=0))
models = {
    "CNNClassifier": cnn,
    "BaggingClassifier(5 CNNs)": BaggingClassifier(cnn, n_estimators=5, random_state=0),
    "AdaBoostClassifier(5 CNNs)": AdaBoostClassifier(cnn, n_estimators=5, random_state=0),
    "StackingClassifier(CNN, RNN)": StackingClassifier(
        [("cnn", cnn), ("rnn", rnn)], final_estimator=LogisticRegression(), cv=3),
}
scores, seconds = {}, {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    scores[name], seconds[name] = model.score(X_test, y_test), time.perf_counter() - start
    print(f"{name:<30} test accuracy {scores[name]:.3f} (fit {seconds[name]:.1f} s)")

# %%
# Accuracy against training time: each ensemble costs about as many fits as
# it has members (stacking: each member once per fold, then once more).
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
colours = [f"C{i}" for i in range(len(models))]
bars = ax_score.barh(list(scores), list(scores.values()), color=colours)
ax_score.bar_label(bars, fmt="%.3f", padding=3)
ax_score.set_xlim(0, 1.15)
ax_score.set_xlabel("test accuracy")
bars = ax_time.barh(list(seconds), list(seconds.values()), color=colours)
ax_time.bar_label(bars, fmt="%.1f s", padding=3)
ax_time.set_xlim(0, 1.2 * max(seconds.values()))
ax_time.set_xlabel("fit time (s)")
ax_score.invert_yaxis()
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
