"""
A grid search on a Dask cluster
===============================

Everything in scikit-learn that takes ``n_jobs`` runs through joblib, and
joblib can hand its tasks to a Dask cluster: the same
:class:`~sklearn.model_selection.GridSearchCV` of CNNs then trains on the
cluster's workers. Here the cluster is a
:class:`distributed.LocalCluster` of 2 worker processes on this machine,
started and closed by the script; on a real cluster, pass the scheduler's
address to :class:`distributed.Client` and change nothing else. A chart
of the candidates' cross-validated accuracies closes the example.

Run ``python examples/dask_cluster.py`` (add ``--quick`` for a smoke run on
tiny settings). Needs ``distributed`` (``pip install distributed``).
"""

import logging
import sys
import time

from joblib import parallel_config
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images

# The guard matters: worker processes start by importing this file.
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from distributed import Client, LocalCluster

    quick = "--quick" in sys.argv
    X, y = load_digits_images(flat=True)
    if quick:
        X, y = X[:200], y[:200]
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

    # One thread per worker: each worker's torch then uses one core. The
    # smoke run keeps its workers in this process (threads), since starting
    # worker processes that import torch takes longer than the search.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=not quick,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        print(f"Dask cluster: {len(client.scheduler_info()['workers'])} workers")
        # ``n_jobs=-1`` asks for every worker of the cluster.
        cnn = CNNClassifier(input_shape=(1, 8, 8), dropout=0.0,
                            max_epochs=1 if quick else 4, random_state=0)
        grid = {"lr": [1e-3, 1e-2], "channels": [(8,), (16,)]}
        search = GridSearchCV(cnn, grid, cv=2, n_jobs=-1)
        start = time.perf_counter()
        with parallel_config(backend="dask"):
            search.fit(X_train, y_train)
        print(f"GridSearchCV on Dask: {len(search.cv_results_['params'])} candidates in "
              f"{time.perf_counter() - start:.1f} s, best {search.best_params_}")
    # the refitted best model is an ordinary estimator, usable without the cluster
    print(f"GridSearchCV best CV accuracy {search.best_score_:.3f}, "
          f"test accuracy {search.score(X_test, y_test):.3f}")

    # the mean and spread over the folds of each candidate, as cv_results_ holds them
    results = search.cv_results_
    labels = [f"lr={p['lr']:g}\nchannels={p['channels']}" for p in results["params"]]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(labels, results["mean_test_score"], yerr=results["std_test_score"], capsize=4,
           color=["C1" if i == search.best_index_ else "C0" for i in range(len(labels))])
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean CV accuracy")
    ax.set_title(f"GridSearchCV on Dask: {len(labels)} candidates (best in orange)")
    fig.tight_layout()
    if not quick:  # the smoke run (--quick) draws the figures without showing them
        plt.show()
