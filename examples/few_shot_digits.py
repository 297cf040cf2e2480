"""
Few-shot digits: MAML on classes never seen
===========================================

:class:`~sklearn_mlarch.MAMLClassifier` meta-learns from 5-way episodes
drawn from the digits 0 to 4, then must tell apart the digits 5 to 9,
which it has never seen, from 1 or 5 labelled examples of each (N-way
K-shot episodes from :func:`~sklearn_mlarch.datasets.sample_episodes`,
scored by :func:`~sklearn_mlarch.meta_learning.evaluate_adaptation` on 15
other examples per class). Five training classes are few to learn *how to
learn* from, so each is also shown rotated and mirrored as 35 more classes,
as in the Omniglot protocol that MAML follows. A nearest-centroid
classifier on the raw pixels, given the same examples, is the baseline; on
8x8 digits it is a strong one.

Run ``python examples/few_shot_digits.py`` (add ``--quick`` for a smoke run
on tiny settings).
"""

import sys
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.neighbors import NearestCentroid

from sklearn_mlarch import FeedForwardClassifier, MAMLClassifier
from sklearn_mlarch.datasets import load_digits_images, sample_episodes, split_classes
from sklearn_mlarch.meta_learning import evaluate_adaptation
from sklearn_mlarch.plotting import plot_adaptation

quick = "--quick" in sys.argv
X, y = load_digits_images(flat=True)
X_train, X_new, y_train, y_new = split_classes(X, y, test_classes=[5, 6, 7, 8, 9])


def rotations_and_mirrors(X, y):
    """Each class in its 4 rotations and their mirror images: 8 classes per digit."""
    images = X.reshape(-1, 8, 8)
    views = [np.rot90(v, r, axes=(1, 2)) for v in (images, images[:, :, ::-1])
             for r in range(4)]
    return (np.concatenate([v.reshape(len(X), -1) for v in views]),
            np.concatenate([y + 10 * i for i in range(len(views))]))


# %%
# Meta-training: episodes of 5 classes, 5 support and 5 query examples each,
# one inner gradient step per episode. MAML wraps the network whose
# initialisation it learns: a dense network of 256 hidden units, whose ``lr``
# is the meta-learning rate.
start = time.perf_counter()
maml = MAMLClassifier(FeedForwardClassifier(hidden_sizes=(256,)), n_way=5, k_shot=5,
                      n_meta_iter=50 if quick else 500, random_state=0)
maml.fit(*rotations_and_mirrors(X_train, y_train))
print(f"MAMLClassifier: {maml.n_meta_iter_} meta-iterations in "
      f"{time.perf_counter() - start:.1f} s")

# %%
# Test episodes on the new digits. With 0 steps every class looks the same
# to the meta-learned network (it shares one head row), so it is at chance;
# it was meta-trained to adapt in 1 step, and more steps help further.
n_episodes = 20 if quick else 200
results, baselines = {}, {}
for k_shot in (1, 5):
    res = evaluate_adaptation(maml, X_new, y_new, steps=[0, 1, 10], k_shot=k_shot,
                              n_query=15, n_tasks=n_episodes, random_state=1)
    results[f"5-way {k_shot}-shot"] = res
    steps = "/".join(map(str, res["steps"]))
    accuracies = " / ".join(f"{acc:.3f}" for acc in res["mean"])
    print(f"MAMLClassifier  5-way {k_shot}-shot accuracy after {steps} steps: {accuracies}")
    with warnings.catch_warnings():  # one example per class: no within-class spread
        warnings.simplefilter("ignore")
        scores = [NearestCentroid().fit(Xs, ys).score(Xq, yq)
                  for Xs, ys, Xq, yq in sample_episodes(X_new, y_new, n_way=5,
                                                        k_shot=k_shot, n_query=15,
                                                        n_episodes=n_episodes,
                                                        random_state=1)]
    baselines[f"5-way {k_shot}-shot"] = np.mean(scores)
    print(f"NearestCentroid 5-way {k_shot}-shot accuracy {np.mean(scores):.3f}")

# %%
# :func:`~sklearn_mlarch.plotting.plot_adaptation` draws the query accuracy
# against the adaptation steps, with its 95 % interval over the episodes;
# the dotted lines are the nearest-centroid baseline (chance is 0.2).
fig, ax = plt.subplots(figsize=(7, 4))
plot_adaptation(results, ax=ax)
for i, (label, accuracy) in enumerate(baselines.items()):
    ax.axhline(accuracy, color=f"C{i}", linestyle=":", label=f"NearestCentroid {label}")
ax.set_ylim(0, 1)
ax.legend()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
