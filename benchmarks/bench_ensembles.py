"""Ensemble speed and accuracy on load_digits (1x8x8 images in [0, 1]).

1. BaggingClassifier of 8 CNNs, n_jobs=2 against n_jobs=1.
2. DeepEnsembleClassifier(CNNClassifier(...), n_estimators=8) (one grouped network) against
   BaggingClassifier(n_jobs=1) of 8 CNNClassifiers with the same
   architecture and epochs, and their test accuracy.
3. Accuracy, StratifiedKFold(5, shuffle=True, random_state=0): a deep
   ensemble of 5 CNNs against one CNN of the same architecture; AdaBoost of
   10 deliberately weak CNNs against one weak CNN.

    python benchmarks/bench_ensembles.py

It prints the markdown tables of benchmarks/RESULTS.md and the ensembles'
gains.
"""

import sys
import time

import numpy as np
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.ensemble import DeepEnsembleClassifier

SMALL = dict(input_shape=(1, 8, 8), channels=(8, 16), hidden_sizes=(32,), max_epochs=10,
             dropout=0.0)
WEAK = dict(input_shape=(1, 8, 8), channels=(2,), hidden_sizes=(), max_epochs=3,
            dropout=0.0, batch_norm=False, lr=1e-2)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main():
    X, y = load_digits_images(flat=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, stratify=y, random_state=0)

    def bagging(n_jobs):
        return BaggingClassifier(CNNClassifier(**SMALL, random_state=0), n_estimators=8,
                                 n_jobs=n_jobs, random_state=0).fit(Xtr, ytr)

    bagging(2)  # start the worker processes once, as any second call would find them
    t1s, t2s, tds = [], [], []
    for _ in range(3):  # alternating, median of 3
        bag1, t = timed(lambda: bagging(1))
        t1s.append(t)
        bag2, t = timed(lambda: bagging(2))
        t2s.append(t)
        deep, t = timed(lambda: DeepEnsembleClassifier(CNNClassifier(**SMALL), n_estimators=8,
                                                       random_state=0).fit(Xtr, ytr))
        tds.append(t)
    t1, t2, td = np.median(t1s), np.median(t2s), np.median(tds)
    # stdout is the markdown of RESULTS.md (python -m sklearn_mlarch bench)
    print("Speed: train 1347 digits, test 450; median of 3 alternating runs", file=sys.stderr)
    print("| model | fit time (s) | ratio | test accuracy |")
    print("|---|---|---|---|")
    print(f"| BaggingClassifier(8 CNNs, n_jobs=1) | {t1:.2f} | 1.00 | {bag1.score(Xte, yte):.4f} |")
    print(f"| BaggingClassifier(8 CNNs, n_jobs=2) | {t2:.2f} | {t1 / t2:.2f}x faster | "
          f"{bag2.score(Xte, yte):.4f} |")
    print(f"| DeepEnsembleClassifier(n_estimators=8) | {td:.2f} | {t1 / td:.2f}x faster | "
          f"{deep.score(Xte, yte):.4f} |", flush=True)

    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    rows = {
        "CNNClassifier (small)": CNNClassifier(**SMALL, random_state=0),
        "DeepEnsembleClassifier(n_estimators=5) (small)":
            DeepEnsembleClassifier(CNNClassifier(**SMALL), n_estimators=5, random_state=0),
        "weak CNNClassifier (2 channels, no dense layer, 3 epochs, lr 1e-2)":
            CNNClassifier(**WEAK, random_state=0),
        "AdaBoostClassifier(10 weak CNNs)":
            AdaBoostClassifier(CNNClassifier(**WEAK, random_state=0), n_estimators=10,
                               random_state=0),
    }
    print("\nAccuracy, StratifiedKFold(5, shuffle=True, random_state=0):\n")
    print("| model | mean accuracy | std | standard error | folds |")
    print("|---|---|---|---|---|")
    scores = {}
    for name, model in rows.items():
        s = cross_val_score(model, X, y, cv=cv)
        scores[name] = s
        print(f"| {name} | {s.mean():.4f} | {s.std():.4f} | {s.std() / np.sqrt(len(s)):.4f} | "
              + " ".join(f"{v:.4f}" for v in s) + " |", flush=True)
    names = list(rows)
    for single, ens in [(names[0], names[1]), (names[2], names[3])]:
        diff = scores[ens] - scores[single]
        se = max(scores[single].std(), scores[ens].std()) / np.sqrt(len(diff))
        print(f"\n{ens} - {single}: {diff.mean():+.4f} (fold standard error {se:.4f}; "
              f"ensemble better on {int((diff > 0).sum())}/5 folds)")


if __name__ == "__main__":
    main()
