"""
A CNN on digit images in a Pipeline
===================================

scikit-learn's digits are flat rows of 64 pixels. With
``input_shape=(1, 8, 8)`` :class:`~sklearn_mlarch.CNNClassifier` reads each
row as a one-channel 8x8 image, so it takes the same flat ``X`` as any
scikit-learn model and fits inside a :class:`~sklearn.pipeline.Pipeline`
after a scaler. An SVC on the same split is the baseline to beat. The
CNN's training curve and confusion matrix close the example.

Run ``python examples/cnn_images_pipeline.py`` (add ``--quick`` for a smoke
run on tiny settings).
"""

import sys
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.plotting import plot_history

quick = "--quick" in sys.argv
X, y = load_digits(return_X_y=True)
if quick:
    X, y = X[:300], y[:300]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# The CNN and the SVC sit in identical pipelines: the scaler sees flat rows,
# and only the CNN reshapes them into images. ``max_epochs`` is left at its
# default (about 1,500 optimizer steps) except in the smoke run.
cnn = CNNClassifier(input_shape=(1, 8, 8), random_state=0,
                    **({"max_epochs": 2} if quick else {}))
models = {"CNNClassifier": make_pipeline(StandardScaler(), cnn),
          "SVC": make_pipeline(StandardScaler(), SVC())}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"{name:<14} test accuracy {model.score(X_test, y_test):.3f} "
          f"(fit {time.perf_counter() - start:.1f} s)")

# %%
# :func:`~sklearn_mlarch.plotting.plot_history` finds the CNN at the end of
# the pipeline and draws its training loss per epoch; the confusion matrix
# shows which test digits it mistakes for which.
pipeline = models["CNNClassifier"]
fig, (ax_loss, ax_matrix) = plt.subplots(1, 2, figsize=(10, 4))
plot_history(pipeline, ax=ax_loss)
ConfusionMatrixDisplay.from_estimator(pipeline, X_test, y_test, ax=ax_matrix, colorbar=False)
ax_matrix.set_title("CNNClassifier on the test digits")
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
