"""Scale-out: searches and ensembles of CNNs on a 2-worker Dask LocalCluster.

All figures come from one run on one machine, side by side:

1. ``HyperbandSearchCV`` and ``BaggingClassifier`` of ``CNNClassifier`` on
   a ``distributed.LocalCluster`` (2 worker processes, 1 thread each)
   through ``joblib.parallel_config(backend="dask")``, against ``n_jobs=1``
   in this process (torch limited to 1 thread per fit in both, so the
   workers, not torch's threads, share the cores).
2. Worker utilisation of Hyperband's schedulers on the cluster: busy time
   (the fits' and scorings' own time) / (wall time x workers), for all
   brackets in flight (``scheduler='parallel'``) against one bracket after
   another (``'brackets'``), and for the asynchronous scheduler (``'async'``,
   ASHA), with the best score each reached and the epochs each spent.

Candidates differ in width (4 to 32 channels) so their fits take different
times, as real candidates do.

    python benchmarks/bench_scaleout.py

It prints the markdown tables of benchmarks/RESULTS.md.
"""

import sys
import time
import warnings

import numpy as np
from joblib import parallel_config
from scipy.stats import loguniform
from sklearn.ensemble import BaggingClassifier

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.model_selection import HyperbandSearchCV
from sklearn_mlarch.utils import torch_threads


def _cnn(**params):
    return CNNClassifier(input_shape=(1, 8, 8), channels=(8,), hidden_sizes=(32,),
                         dropout=0.0, batch_size=64, lr=1e-2, random_state=0, **params)


SPACE = {"lr": loguniform(3e-3, 3e-2), "channels": [(4,), (8,), (16,), (32,)]}


def _search(scheduler="parallel", n_jobs=None):
    return HyperbandSearchCV(_cnn(max_epochs=27), SPACE, eta=3, cv=3, n_jobs=n_jobs,
                             scheduler=scheduler, random_state=0)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _busy(search):
    res = search.cv_results_
    return float(np.sum((res["mean_fit_time"] + res["mean_score_time"]) * search.n_splits_))


def main():
    import distributed

    X, y = load_digits_images(flat=True)
    warnings.simplefilter("ignore", UserWarning)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    workers = 2
    # stdout is the markdown of RESULTS.md (python -m sklearn_mlarch bench)
    print("Dask LocalCluster: 2 worker processes x 1 thread; local runs: 1 torch thread",
          file=sys.stderr)
    print("| what | n_jobs=1 (s) | 2-worker LocalCluster (s) | speed-up |")
    print("|---|---|---|---|")
    with torch_threads(1):
        local, t_local = _timed(lambda: _search().fit(X, y))
    with parallel_config(backend="dask"):
        remote, t_remote = _timed(lambda: _search().fit(X, y))
    same = remote.cv_results_["params"] == local.cv_results_["params"]
    print(f"| HyperbandSearchCV, 27 epochs, eta 3, 3-fold CV (same candidates: {same}) | "
          f"{t_local:.1f} | {t_remote:.1f} | {t_local / t_remote:.2f}x |", flush=True)
    bag = BaggingClassifier(_cnn(max_epochs=20), n_estimators=8, random_state=0)
    with torch_threads(1):
        _, b_local = _timed(lambda: bag.set_params(n_jobs=1).fit(X, y))
    with parallel_config(backend="dask"):
        _, b_remote = _timed(lambda: bag.set_params(n_jobs=2).fit(X, y))
    print(f"| BaggingClassifier, 8 CNNs, 20 epochs | {b_local:.1f} | {b_remote:.1f} | "
          f"{b_local / b_remote:.2f}x |\n", flush=True)

    print("| scheduler (on the cluster) | wall (s) | busy / (wall x workers) | waves | "
          "epochs spent per fold | best CV accuracy |")
    print("|---|---|---|---|---|---|")
    for scheduler in ("brackets", "parallel", "async"):
        with parallel_config(backend="dask"):
            search, wall = _timed(lambda: _search(scheduler).fit(X, y))
        print(f"| {scheduler} | {wall:.1f} | {_busy(search) / (wall * workers):.2f} | "
              f"{search.n_waves_} | {search.total_resource_:.0f} | "
              f"{search.best_score_:.4f} |", flush=True)
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
