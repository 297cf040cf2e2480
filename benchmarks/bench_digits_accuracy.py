"""Accuracy on load_digits, StratifiedKFold(5, shuffle=True, random_state=0).

CNNClassifier with its defaults on 1x8x8 images, RNNClassifier with the
image rows as 8 time steps of 8 features (its defaults, and the former
LSTM defaults; the images are passed transposed, as flat rows of
``(C, L) = (8 columns, 8 rows)`` series), beside scikit-learn's SVC and MLPClassifier on the same
folds. Total time is for all five folds; the per-fold time is a fifth.

    python benchmarks/bench_digits_accuracy.py
"""

import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from sklearn_mlarch import CNNClassifier, RNNClassifier
from sklearn_mlarch.datasets import load_digits_images


def main():
    X, y = load_digits_images(flat=True)  # pixels scaled to [0, 1]
    # series (C, L): channel c is column c, time step t is row t
    rows = X.reshape(-1, 8, 8).transpose(0, 2, 1).reshape(len(X), -1)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    models = {
        "CNNClassifier(input_shape=(1, 8, 8)) defaults":
            CNNClassifier(input_shape=(1, 8, 8), random_state=0),
        "RNNClassifier(input_shape=(8, 8)) defaults (bidirectional GRU)":
            RNNClassifier(input_shape=(8, 8), random_state=0),
        "RNNClassifier(input_shape=(8, 8), cell='lstm', bidirectional=False, max_epochs=30, "
        "batch_size=64) (the former defaults)":
            RNNClassifier(input_shape=(8, 8), cell="lstm", bidirectional=False, max_epochs=30,
                          batch_size=64, random_state=0),
        "SVC(gamma=0.001) on raw 0..16 pixels": SVC(gamma=0.001),
        "MLPClassifier(max_iter=500)": MLPClassifier(max_iter=500, random_state=0),
    }
    print("| model | mean accuracy | std | fold accuracies | total time (s) |")
    print("|---|---|---|---|---|")
    for name, model in models.items():
        Xm = X * 16 if name.startswith("SVC") else rows if name.startswith("RNN") else X
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = cross_val_score(model, Xm, y, cv=cv)
        folds = " ".join(f"{s:.4f}" for s in scores)
        print(f"| {name} | {scores.mean():.4f} | {scores.std():.4f} | {folds} | "
              f"{time.perf_counter() - start:.1f} |", flush=True)


if __name__ == "__main__":
    main()
