"""HyperbandSearchCV against RandomizedSearchCV and successive halving on digits.

A CNNClassifier search space of 5 hyperparameters, 3-fold stratified CV,
max_epochs up to 27, eta=3, all searches with n_jobs=2, one run:

1. HyperbandSearchCV (continuation): 49 configurations over 4 brackets.
2. RandomizedSearchCV over the same space with the same number of
   configurations (49), each at the full 27 epochs.
3. Successive halving without continuation on exactly the same candidates:
   scikit-learn's HalvingGridSearchCV(resource='max_epochs', factor=3) run
   once per Hyperband bracket, over that bracket's candidates and from its
   smallest resource, i.e. the same schedule but retraining at every rung.

Epochs are counted per fold (the refit of the best candidate excluded).

With ``--seeds N`` the script instead compares Hyperband and random search
(1. and 2.) over N seeds on held-out data: each seed splits digits 75/25
(stratified), both searches run on the training part with that seed and
refit their best candidate on all of it, and the refitted models are scored
on the held-out 25 %.

    python benchmarks/bench_search.py
    python benchmarks/bench_search.py --seeds 5
"""

import argparse

import time
import warnings

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (HalvingGridSearchCV, RandomizedSearchCV, StratifiedKFold,
                                     train_test_split)

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.model_selection import HyperbandSearchCV

SPACE = {
    "lr": loguniform(3e-4, 3e-2),
    "channels": [(8,), (16,), (16, 32), (32, 64)],
    "hidden_sizes": [(32,), (64,), (128,)],
    "dropout": uniform(0.0, 0.5),
    "batch_norm": [True, False],
}
R = 27


def held_out(n_seeds):
    """Hyperband against random search over seeds, scored on held-out data."""
    X, y = load_digits_images(flat=True)
    print("| seed | Hyperband test acc | random test acc | Hyperband epochs | random epochs "
          "| Hyperband time (s) | random time (s) |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for seed in range(n_seeds):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=seed)
        cv = StratifiedKFold(3, shuffle=True, random_state=seed)
        cnn = CNNClassifier(input_shape=(1, 8, 8), max_epochs=R, random_state=seed)
        start = time.perf_counter()
        hb = HyperbandSearchCV(cnn, SPACE, resource="max_epochs", max_resource=R, eta=3, cv=cv,
                               n_jobs=2, random_state=seed).fit(Xtr, ytr)
        t_hb = time.perf_counter() - start
        n_configs = int((hb.cv_results_["rung"] == 0).sum())
        start = time.perf_counter()
        rs = RandomizedSearchCV(cnn, SPACE, n_iter=n_configs, cv=cv, n_jobs=2,
                                random_state=seed).fit(Xtr, ytr)
        t_rs = time.perf_counter() - start
        row = (seed, hb.score(Xte, yte), rs.score(Xte, yte), hb.total_resource_,
               n_configs * R, t_hb, t_rs)
        rows.append(row)
        print("| {} | {:.4f} | {:.4f} | {} | {} | {:.1f} | {:.1f} |".format(*row), flush=True)
    rows = np.array(rows, dtype=float)
    diff = rows[:, 1] - rows[:, 2]
    print(f"\nHyperband − random, test accuracy: mean {100 * diff.mean():+.2f} points, "
          f"std {100 * diff.std(ddof=1):.2f}, standard error "
          f"{100 * diff.std(ddof=1) / np.sqrt(len(diff)):.2f}; Hyperband higher on "
          f"{(diff > 0).sum()}, equal on {(diff == 0).sum()}, lower on {(diff < 0).sum()} "
          f"of {len(diff)} seeds")
    print(f"epochs Hyperband / random: {rows[:, 3].sum() / rows[:, 4].sum():.3f}; "
          f"time Hyperband / random: {rows[:, 5].sum() / rows[:, 6].sum():.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=0,
                        help="compare Hyperband and random search over this many seeds "
                             "on held-out data")
    args = parser.parse_args()
    if args.seeds:
        return held_out(args.seeds)
    X, y = load_digits_images(flat=True)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    cnn = CNNClassifier(input_shape=(1, 8, 8), max_epochs=R, random_state=0)
    rows = []

    start = time.perf_counter()
    hb = HyperbandSearchCV(cnn, SPACE, resource="max_epochs", max_resource=R, eta=3, cv=cv,
                           n_jobs=2, random_state=0, refit=False).fit(X, y)
    t_hb = time.perf_counter() - start
    res = hb.cv_results_
    n_configs = int((res["rung"] == 0).sum())
    rows.append(("HyperbandSearchCV (continuation)", n_configs, hb.total_resource_,
                 hb.cv_results_["mean_test_score"][hb.best_index_], t_hb))

    start = time.perf_counter()
    rs = RandomizedSearchCV(cnn, SPACE, n_iter=n_configs, cv=cv, n_jobs=2, random_state=0,
                            refit=False).fit(X, y)
    t_rs = time.perf_counter() - start
    rows.append(("RandomizedSearchCV (full budget)", n_configs, n_configs * R,
                 rs.cv_results_["mean_test_score"].max(), t_rs))

    start = time.perf_counter()
    halving_epochs, halving_best = 0, -np.inf
    for s in sorted(set(res["bracket"]), reverse=True):
        first = (res["bracket"] == s) & (res["rung"] == 0)
        grid = [{k: [v] for k, v in p.items() if k != "max_epochs"}
                for p, keep in zip(res["params"], first) if keep]
        r0 = int(res["n_resources"][first][0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hs = HalvingGridSearchCV(cnn, grid, resource="max_epochs", min_resources=r0,
                                     max_resources=R, factor=3, cv=cv, n_jobs=2,
                                     refit=False).fit(X, y)
        halving_epochs += int(hs.cv_results_["n_resources"].sum())
        last = hs.cv_results_["iter"] == hs.cv_results_["iter"].max()
        halving_best = max(halving_best, np.nanmax(hs.cv_results_["mean_test_score"][last]))
    t_hs = time.perf_counter() - start
    rows.append(("successive halving, no continuation (same candidates and brackets)",
                 n_configs, halving_epochs, halving_best, t_hs))

    print("| search | configurations | epochs per fold | epochs / random | best CV accuracy "
          "| wall-clock (s) | time / random |")
    print("|---|---|---|---|---|---|---|")
    for name, n, epochs, best, t in rows:
        print(f"| {name} | {n} | {epochs:.0f} | {epochs / (n_configs * R):.3f} | {best:.4f} | "
              f"{t:.1f} | {t / t_rs:.3f} |")
    print(f"\nHyperband brackets: {hb.brackets_}")
    print(f"best Hyperband candidate: {res['params'][hb.best_index_]}")


if __name__ == "__main__":
    main()
