"""Deep ensembles of every base network: one fit of 8 members against 8 fits.

For each base estimator (the CNN, trained as one grouped network; the dense
network, vectorised with ``torch.func.vmap``; the GRU, whose members run one
after the other because torch has no batching rule for recurrent layers), the
time of ``DeepEnsembleClassifier(base, n_estimators=8).fit`` against 8
sequential fits of ``base`` with the same epochs and batches, on load_digits
(1347 training images; the CNN reads them as 1x8x8 images, the GRU as 8
series of 8 steps, the dense network as 64 features). Median of 3
alternating runs, torch on the threads it is given.

    python benchmarks/bench_deep_ensemble_networks.py

It prints a markdown table for benchmarks/RESULTS.md.

    python benchmarks/bench_deep_ensemble_networks.py --inception [--epochs 1]

measures InceptionTime composed instead:
``DeepEnsembleClassifier(CNNClassifier(architecture='inception'), n_estimators=5)``
(one network of grouped convolutions, ``InceptionEnsembleNetwork``) against 5
sequential fits of ``CNNClassifier(architecture='inception')``, the paper's
widths, on a synthetic set shaped like a UCR one (200 series of length 250, 1
channel, float32, batches of 16), one run each, side by side in one process.
"""

import argparse
import platform

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from sklearn_mlarch import (CNNClassifier, DeepEnsembleClassifier, FeedForwardClassifier,
                            RNNClassifier)
from sklearn_mlarch.datasets import load_digits_images

from bench_ensembles import timed  # noqa: E402  (this folder, the scripts' path)

EPOCHS = dict(max_epochs=5, batch_size=64, lr_schedule="constant")
BASES = {
    "CNN (grouped convolutions)": CNNClassifier((1, 8, 8), channels=(8, 16),
                                                hidden_sizes=(32,), dropout=0.0, **EPOCHS),
    "dense (torch.func.vmap)": FeedForwardClassifier(hidden_sizes=(128, 128), **EPOCHS),
    "GRU (member loop)": RNNClassifier((8, 8), hidden_size=32, **EPOCHS),
}
N = 8


def main():
    X, y = load_digits_images(flat=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, stratify=y, random_state=0)
    print(f"Machine: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}\n")
    print("| members of | 8 separate fits (s) | one ensemble fit (s) | speed-up "
          "| ensemble accuracy | single accuracy |")
    print("|---|---|---|---|---|---|")
    for name, base in BASES.items():
        seps, ens = [], []
        for _ in range(3):
            singles, t = timed(lambda: [clone(base).set_params(random_state=s).fit(Xtr, ytr)
                                         for s in range(N)])
            seps.append(t)
            deep, t = timed(lambda: DeepEnsembleClassifier(
                clone(base), n_estimators=N, random_state=0).fit(Xtr, ytr))
            ens.append(t)
        t_sep, t_ens = np.median(seps), np.median(ens)
        print(f"| {name} | {t_sep:.2f} | {t_ens:.2f} | {t_sep / t_ens:.2f}x "
              f"| {deep.score(Xte, yte):.3f} | {singles[0].score(Xte, yte):.3f} |")


def inception(epochs=1, n_series=200, length=250, n_members=5):
    """InceptionTime as a vectorised deep ensemble against ``n_members`` sequential fits."""
    rng = np.random.RandomState(0)
    X = rng.randn(n_series, 1, length).astype(np.float32)
    y = np.arange(n_series) % 2
    X[y == 1, 0] += np.sin(np.linspace(0, 12, length)).astype(np.float32)
    base = CNNClassifier(architecture="inception", max_epochs=epochs, batch_size=16,
                         lr_schedule="constant")
    print(f"Machine: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}; "
          f"{n_series} series of length {length}, {epochs} epoch(s), batches of 16\n")
    _, t_sep = timed(lambda: [clone(base).set_params(random_state=s).fit(X, y)
                              for s in range(n_members)])
    deep, t_ens = timed(lambda: DeepEnsembleClassifier(
        clone(base), n_estimators=n_members, random_state=0).fit(X, y))
    print(f"| InceptionTime ({n_members} networks) | {n_members} separate fits (s) "
          "| one ensemble fit (s) | speed-up | ensemble network |")
    print("|---|---|---|---|---|")
    print(f"| {epochs} epoch(s) | {t_sep:.2f} | {t_ens:.2f} | {t_sep / t_ens:.2f}x "
          f"| {type(deep.net_.module_).__name__} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inception", action="store_true",
                        help="InceptionTime's 5-network ensemble instead of the digits table")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    if args.inception:
        inception(args.epochs)
    else:
        main()
