"""Choose the CNN's defaults for series by cross-validation on training splits only.

The protocol of issue 22's point 4: a default is chosen from the official
*training* splits alone, never from a test split. For each data set, each
candidate setting of ``CNNClassifier`` is scored by stratified k-fold
cross-validation on the training split (``--folds``, default 3, shuffled with
``random_state=0``; one training seed, 0); the candidates are then ranked per
data set (1 = best CV accuracy, ties share the mean rank), and the candidate of
the best mean rank over the data sets is the one to make the default. The
test splits stay for ``bench_timeseries.py``, which reports the chosen
setting against MiniRocket afterwards.

Candidates (``--candidates``): ``fcn`` (today's default: the FCN of Wang et
al. 2017), ``fcn-series`` (``normalize='series'``), ``fcn-series+scale``,
``resnet`` (``architecture='resnet'``) and ``inception``
(``architecture='inception'``). Images (digits) keep the image CNN: the series
architectures and ``normalize`` apply to ``(n, C, L)`` input only.

    python benchmarks/select_series_defaults.py --datasets ArrowHead BasicMotions

Prints one markdown row per data set and candidate, then the mean ranks.
Needs ``sktime`` for the data (as ``bench_timeseries.py``).
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_timeseries import DATASETS, as_signals, load  # noqa: E402

from sklearn_mlarch import CNNClassifier  # noqa: E402

CANDIDATES = {
    "fcn": {},
    "fcn-series": {"normalize": "series"},
    "fcn-series+scale": {"normalize": "series+scale"},
    "resnet": {"architecture": "resnet"},
    "inception": {"architecture": "inception"},
}


def ranks(scores):
    """Rank of each score, 1 for the highest; ties share their mean rank."""
    scores = np.asarray(scores, dtype=float)
    order = (-scores).argsort(kind="stable")
    out = np.empty(len(scores))
    out[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):
        tied = scores == value
        out[tied] = out[tied].mean()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES),
                        choices=list(CANDIDATES))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--data-cache", metavar="DIR")
    args = parser.parse_args()
    print("| data set | candidate | CV accuracy on the training split, mean (folds) "
          "| time (s) |")
    print("|---|---|---|---|")
    table = {}
    for name in args.datasets:
        train, y = load(name, "train", args.data_cache)
        equal = len({len(s) for s in train}) == 1
        X = as_signals(train) if equal else as_signals(train, mode="list")
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest < args.folds:
            raise SystemExit(f"{name}: a class has {smallest} training series, fewer than "
                             f"--folds {args.folds}; pass fewer folds for every data set "
                             "(the ranks compare like with like) or leave it out.")
        cv = StratifiedKFold(args.folds, shuffle=True, random_state=0)
        for cand in args.candidates:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                scores = 100 * cross_val_score(
                    CNNClassifier(**CANDIDATES[cand], random_state=0), X, y, cv=cv)
            table[name, cand] = scores.mean()
            print(f"| {name} | {cand} | {scores.mean():.1f} ("
                  + ", ".join(f"{s:.1f}" for s in scores)
                  + f") | {time.perf_counter() - start:.0f} |", flush=True)
    mean_rank = np.mean([ranks([table[name, c] for c in args.candidates])
                         for name in args.datasets], axis=0)
    print("\n| candidate | mean rank over " + ", ".join(args.datasets) + " |")
    print("|---|---|")
    for cand, rank in sorted(zip(args.candidates, mean_rank), key=lambda t: t[1]):
        print(f"| {cand} | {rank:.2f} |")


if __name__ == "__main__":
    main()
