"""The composition redesign trains the same models, bit for bit.

Fits, with one seed, a CNNClassifier (class and sample weights), a
CNNRegressor, a multi-task CNN, a deep ensemble of 3 CNNs and MAML on the
sinusoid family, in this checkout and in a checkout of the revision before
the redesign (99d1b92: ``MultiTaskClassifier(trunk_params=...)``,
``DeepEnsembleClassifier(n_members=...)``, ``MAMLRegressor(network_params=...)``),
each in its own process, and compares the predictions exactly. Identical
predictions mean every accuracy figure measured before the redesign holds
for the new API.

    python benchmarks/bench_same_models.py [--old REV]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

FIT = r'''
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import sklearn_mlarch as pkg
from sklearn_mlarch import (CNNClassifier, CNNRegressor, DeepEnsembleClassifier,
                            MAMLRegressor, MultiTaskClassifier)
from sklearn_mlarch.datasets import SinusoidTasks, load_digits_images
new = hasattr(pkg, "__getattr__") and "FeedForwardRegressor" in pkg.__all__
X, y = load_digits_images(); X, y = X[:300], y[:300]
out = {}
clf = CNNClassifier(channels=(8,), max_epochs=5, random_state=0, class_weight="balanced")
out["CNNClassifier"] = clf.fit(X, y, sample_weight=np.linspace(0.5, 1.5, 300)).predict_proba(X)
reg = CNNRegressor(channels=(8,), max_epochs=5, random_state=0)
out["CNNRegressor"] = reg.fit(X, y.astype(float)).predict(X)
if new:
    from sklearn_mlarch import FeedForwardRegressor
    mt = MultiTaskClassifier(CNNClassifier(channels=(8,), max_epochs=3, batch_size=64),
                             random_state=0)
    ens = DeepEnsembleClassifier(CNNClassifier(channels=(8,), max_epochs=3), n_estimators=3,
                                 random_state=0)
    maml = MAMLRegressor(FeedForwardRegressor(hidden_sizes=(40, 40), lr=1e-3),
                         n_meta_iter=50, random_state=0)
else:
    mt = MultiTaskClassifier(trunk_params=dict(channels=(8,)), max_epochs=3, random_state=0)
    ens = DeepEnsembleClassifier(n_members=3, channels=(8,), max_epochs=3, random_state=0)
    maml = MAMLRegressor(n_meta_iter=50, random_state=0)
out["MultiTaskClassifier"] = np.concatenate(mt.fit(X, np.c_[y, y % 2]).predict_proba(X), 1)
out["DeepEnsembleClassifier"] = ens.fit(X, y).predict_proba(X)
tasks = SinusoidTasks()
Xs, ys, _ = tasks.make_tasks(n_tasks=1, n_points=10, random_state=1)
out["MAMLRegressor"] = maml.fit(tasks).adapt(Xs, ys).predict(Xs)
np.savez(sys.argv[2], **out)
'''


def _fit(root, out):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", FIT, root, out], check=True, env=env)
    return np.load(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="99d1b92", help="revision before the redesign")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = os.path.join(tmp, "old")
        subprocess.run(["git", "-C", here, "worktree", "add", "-q", "--detach", old_tree,
                        args.old], check=True)
        try:
            old = _fit(old_tree, os.path.join(tmp, "old.npz"))
            new = _fit(here, os.path.join(tmp, "new.npz"))
        finally:
            subprocess.run(["git", "-C", here, "worktree", "remove", "--force", old_tree],
                           check=True)
    print(f"| model | predictions equal to {args.old}'s | largest difference |")
    print("|---|---|---|")
    for name in old.files:
        print(f"| {name} | {np.array_equal(old[name], new[name])} "
              f"| {np.abs(old[name] - new[name]).max():.3g} |")


if __name__ == "__main__":
    main()
