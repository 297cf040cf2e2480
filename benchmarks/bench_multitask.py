"""One MultiTaskClassifier against three single-task CNNClassifiers on digits.

load_digits as 1x8x8 images, three tasks: the digit, its parity and
digit >= 5. StratifiedKFold(5, shuffle=True, random_state=0) on the digit.
The single-task models are CNNClassifier() with the package defaults; the
multi-task model wraps the default CNN, MultiTaskClassifier(CNNClassifier(
max_epochs=30, batch_size=64)), the budget of the figures in RESULTS.md
(the former MultiTaskClassifier defaults). Three sections:

1. all labels: per-task 5-fold accuracy and total fit time, with SVC per task;
2. 30 % of each task's labels missing (different samples per task): the
   multi-task model on every row, each single-task model on its task's
   labelled rows only;
3. each task weighting of the multi-task model on protocol 1, with its time.

    python benchmarks/bench_multitask.py

It prints the markdown tables of benchmarks/RESULTS.md.
"""

import platform
import sys
import time

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

from sklearn_mlarch import CNNClassifier, MultiTaskClassifier
from sklearn_mlarch.datasets import load_digits_images

TASKS = ["digit", "parity", "digit >= 5"]
# the shared trunk: the default CNN's, trained 30 epochs of 64 samples as when
# the figures of RESULTS.md were measured
MULTITASK_CNN = CNNClassifier(max_epochs=30, batch_size=64)


def _timed_fit(est, X, y):
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def run(X, Y, missing=None, weighting="equal", baselines=True):
    """Per-task fold accuracies and total fit times of the models."""
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    acc = {"multi": [], "single": [], "svc": []}
    times = {"multi": 0.0, "single": 0.0}
    for fold, (tr, te) in enumerate(cv.split(X, Y[:, 0])):
        Ytr = Y[tr].astype(float)
        if missing is not None:
            Ytr[missing[tr]] = np.nan
        mt = MultiTaskClassifier(MULTITASK_CNN, task_weights=weighting, random_state=fold)
        times["multi"] += _timed_fit(mt, X[tr], Ytr)
        acc["multi"].append(mt.score_tasks(X[te], Y[te]))
        if not baselines:
            continue
        single, svc = [], []
        for t in range(Y.shape[1]):
            keep = ~np.isnan(Ytr[:, t])
            cnn = CNNClassifier(random_state=fold)
            times["single"] += _timed_fit(cnn, X[tr][keep], Y[tr][keep, t])
            single.append(cnn.score(X[te], Y[te, t]))
            svm = SVC(gamma=0.001).fit(X[tr][keep].reshape(keep.sum(), -1) * 16,
                                       Y[tr][keep, t])
            svc.append(svm.score(X[te].reshape(len(te), -1) * 16, Y[te, t]))
        acc["single"].append(single)
        acc["svc"].append(svc)
    return {k: np.array(v) for k, v in acc.items() if v}, times


def _row(name, folds, time_s=None):
    mean = folds.mean(axis=0)
    cells = " | ".join(f"{100 * m:.2f}" for m in mean)
    return f"| {name} | {cells} | " + (f"{time_s:.1f} |" if time_s is not None else "– |")


def main():
    X, d = load_digits_images()
    Y = np.c_[d, d % 2, d >= 5].astype(int)
    # stdout is the markdown of RESULTS.md (python -m sklearn_mlarch bench)
    print(f"machine: {platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}", file=sys.stderr)
    header = "| model | " + " | ".join(TASKS) + " | total fit time (s) |"
    rule = "|---" * (len(TASKS) + 2) + "|"

    print("1. All labels, 5-fold mean accuracy (%):\n")
    acc, times = run(X, Y)
    print(header + "\n" + rule)
    print(_row("MultiTaskClassifier (one network)", acc["multi"], times["multi"]))
    print(_row("3 x CNNClassifier (one per task)", acc["single"], times["single"]))
    print(_row("SVC(gamma=0.001) per task", acc["svc"]))
    print(f"\ntime multi / single: {times['multi'] / times['single']:.3f}; "
          f"multi-task at least as accurate on "
          f"{int((acc['multi'].mean(0) >= acc['single'].mean(0)).sum())} of 3 tasks")

    print("\n2. 30 % of each task's labels missing (different rows per task):\n")
    missing = np.random.RandomState(0).rand(*Y.shape) < 0.3
    acc2, times2 = run(X, Y, missing=missing)
    print(header + "\n" + rule)
    print(_row("MultiTaskClassifier, all rows", acc2["multi"], times2["multi"]))
    print(_row("3 x CNNClassifier, labelled rows only", acc2["single"], times2["single"]))
    print(_row("SVC per task, labelled rows only", acc2["svc"]))

    print("\n3. Task weighting on protocol 1:\n")
    print(header.replace("model", "task_weights", 1) + "\n" + rule)
    notes = {"uncertainty": " (Kendall et al. 2018)", "pcgrad": " (Yu et al. 2020)"}
    for weighting in ["equal", [1.0, 0.5, 0.5], "uncertainty", "pcgrad"]:
        acc3, times3 = run(X, Y, weighting=weighting, baselines=False)
        name = repr(weighting) + notes.get(str(weighting), "")
        print(_row(name, acc3["multi"], times3["multi"]), flush=True)


if __name__ == "__main__":
    main()
