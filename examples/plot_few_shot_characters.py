"""
Few-shot characters: prototypical networks on alphabets never seen
==================================================================

:func:`~sklearn_mlarch.datasets.make_characters` renders about 1,700
characters of 22 scripts and symbol blocks in the fonts that matplotlib
ships, each drawn 20 times with its own distortion: a data set in the
mould of Omniglot, split by alphabet into meta-training, meta-validation
and meta-test characters. A :class:`~sklearn_mlarch.PrototypicalClassifier`
meta-trains a small convolutional network as an embedding on episodes of
the training alphabets, then tells apart characters of the test alphabets
(currency signs, Georgian, dingbats, Braille), which it has never seen,
from 1 or 5 labelled examples of each: a new class is the mean of its
examples in the embedding, and no gradient step is taken. A
nearest-centroid classifier on the raw pixels, given the same episodes,
is the baseline.

Run ``python examples/plot_few_shot_characters.py`` (a few minutes on one
core; add ``--quick`` for a smoke run on tiny settings).
"""

import sys
import time
import warnings

import matplotlib
import numpy as np
from sklearn.neighbors import NearestCentroid

from sklearn_mlarch import CNNClassifier, PrototypicalClassifier
from sklearn_mlarch.datasets import make_characters, sample_episodes
from sklearn_mlarch.meta_learning import evaluate_adaptation

quick = "--quick" in sys.argv
if quick:  # a smoke run draws the figures without opening windows
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# %%
# The data: 28x28 images, strokes 1 on a background of 0, one class per
# character. The splits are fixed by alphabet, so the test characters come
# from scripts that meta-training never shows.
start = time.perf_counter()
chars = make_characters(n_drawers=10 if quick else 20)
split = {s: (chars.data[chars.split == s], chars.target[chars.split == s])
         for s in ("train", "test")}
(X_train, y_train), (X_test, y_test) = split["train"], split["test"]
print(f"characters: {len(X_train)} training images of {len(np.unique(y_train))} classes, "
      f"{len(X_test)} test images of {len(np.unique(y_test))} classes "
      f"({time.perf_counter() - start:.1f} s)")

# %%
# A 5-way 1-shot episode of the test alphabets: one labelled example of
# each of 5 characters (the support set, top row) and new drawings of the
# same characters to classify (the query set, below).
n_shown = 3
Xs, ys, Xq, yq = next(sample_episodes(X_test, y_test, n_way=5, k_shot=1, n_query=n_shown,
                                      n_episodes=1, random_state=0))
fig, axes = plt.subplots(1 + n_shown, 5, figsize=(6, 1.3 * (1 + n_shown)))
for col, label in enumerate(ys):
    images = [Xs[col]] + list(Xq[yq == label])
    for row, image in enumerate(images):
        ax = axes[row, col]
        ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, col].set_title(f"U+{ord(chars.target_names[label]):04X}", fontsize=9)
axes[0, 0].set_ylabel("support")
for row in range(1, 1 + n_shown):
    axes[row, 0].set_ylabel("query")
fig.suptitle("A 5-way 1-shot episode of the test alphabets")
fig.tight_layout()

# %%
# Meta-training: the four convolution blocks of the few-shot papers (3x3
# convolutions, batch norm, ReLU, 2x2 max-pooling) with fewer filters,
# trained on 20-way 1-shot episodes of the training alphabets, 5 queries per
# class: Snell et al. train with more ways than they test with. The
# network's head is not used: its body is the embedding.
cnn = CNNClassifier((1, 28, 28), channels=(16 if quick else 32,) * 4, kernel_size=3,
                    pool_size=2, dropout=0.0, hidden_sizes=(), global_pool="flatten", lr=1e-3)
proto = PrototypicalClassifier(cnn, n_way=20, k_shot=1, n_query=5,
                               n_meta_iter=100 if quick else 1500, random_state=0)
start = time.perf_counter()
proto.fit(X_train, y_train)
print(f"PrototypicalClassifier: {proto.n_meta_iter_} meta-iterations in "
      f"{time.perf_counter() - start:.1f} s")

# %%
# Test episodes on the new alphabets. ``evaluate_adaptation`` and
# ``sample_episodes`` given the same ``random_state`` draw the same
# episodes, so both methods see the same support and query sets.
n_episodes, n_query = (50, 5) if quick else (600, 15)
results = {}
for k_shot in (1, 5):
    res = evaluate_adaptation(proto, X_test, y_test, n_way=5, k_shot=k_shot, n_query=n_query,
                              n_tasks=n_episodes, random_state=1)
    with warnings.catch_warnings():  # one example per class: no within-class spread
        warnings.simplefilter("ignore")
        scores = [NearestCentroid().fit(Xs.reshape(len(Xs), -1), ys)
                  .score(Xq.reshape(len(Xq), -1), yq)
                  for Xs, ys, Xq, yq in sample_episodes(X_test, y_test, n_way=5,
                                                        k_shot=k_shot, n_query=n_query,
                                                        n_episodes=n_episodes,
                                                        random_state=1)]
    centroid = np.mean(scores), 1.96 * np.std(scores, ddof=1) / np.sqrt(len(scores))
    results[f"5-way {k_shot}-shot"] = {"NearestCentroid on pixels": centroid,
                                       "PrototypicalClassifier": (res["mean"][0],
                                                                  res["ci95"][0])}
    print(f"PrototypicalClassifier 5-way {k_shot}-shot accuracy {res['mean'][0]:.3f} "
          f"± {res['ci95'][0]:.3f}")
    print(f"NearestCentroid        5-way {k_shot}-shot accuracy {centroid[0]:.3f} "
          f"± {centroid[1]:.3f}")

# %%
# The accuracies, with their 95 % intervals over the test episodes (chance
# is 0.2).
fig, ax = plt.subplots(figsize=(8, 3.5))
width = 0.38
for i, method in enumerate(["NearestCentroid on pixels", "PrototypicalClassifier"]):
    means, halves = zip(*(r[method] for r in results.values()))
    ax.bar(np.arange(len(results)) + (i - 0.5) * width, means, width, yerr=halves,
           capsize=4, label=method)
ax.axhline(0.2, color="gray", linestyle=":", label="chance")
ax.set_xticks(np.arange(len(results)), labels=list(results))
ax.set_ylim(0, 1)
ax.set_ylabel("query accuracy")
ax.set_title(f"New alphabets, {n_episodes} episodes")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
fig.tight_layout()
if not quick:
    plt.show()
