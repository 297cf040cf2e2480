"""
Multi-task learning: one network, 3 tasks
=========================================

:class:`~sklearn_mlarch.MultiTaskClassifier` wraps a
:class:`~sklearn_mlarch.CNNClassifier` and trains its network's trunk,
shared, with one output head per column of ``y``. Here the tasks are three
questions about the same digit images: which digit, is it odd, is it at
least 5. A third of the digit labels are missing (NaN): those rows still
train the other two tasks. ``score_tasks`` scores each task on its labelled
rows, beside one :class:`~sklearn_mlarch.CNNClassifier` per task trained on
the rows labelled for it, with the same number of epochs.

Run ``python examples/multitask_digits.py`` (add ``--quick`` for a smoke run
on tiny settings).
"""

import sys
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_mlarch import CNNClassifier, MultiTaskClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.plotting import plot_task_scores

quick = "--quick" in sys.argv
X, digit = load_digits_images()
if quick:
    X, digit = X[:300], digit[:300]
Y = np.c_[digit, digit % 2, digit >= 5].astype(float)
tasks = ["digit", "odd", ">= 5"]
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, stratify=digit, random_state=0)
rng = np.random.RandomState(0)
Y_train[rng.rand(len(Y_train)) < 1 / 3, 0] = np.nan  # a third of the digit labels missing
epochs = 2 if quick else 6

# %%
# One network for all three tasks. The wrapped CNN gives the architecture and
# the training settings (here its epochs); the multi-task model adds the heads.
start = time.perf_counter()
multi = MultiTaskClassifier(CNNClassifier(max_epochs=epochs), random_state=0)
multi.fit(X_train, Y_train)
seconds = time.perf_counter() - start
for name, score in zip(tasks, multi.score_tasks(X_test, Y_test)):
    print(f"MultiTaskClassifier  task {name:<6} test accuracy {score:.3f}")
print(f"MultiTaskClassifier  fit {seconds:.1f} s for 3 tasks")

# %%
# One network per task, each trained on the rows that have its label.
start = time.perf_counter()
single = []
for t, name in enumerate(tasks):
    labelled = ~np.isnan(Y_train[:, t])
    cnn = CNNClassifier(max_epochs=epochs, random_state=0)
    cnn.fit(X_train[labelled], Y_train[labelled, t])
    single.append(cnn.score(X_test, Y_test[:, t]))
    print(f"CNNClassifier        task {name:<6} test accuracy {single[-1]:.3f}")
print(f"CNNClassifier        fit {time.perf_counter() - start:.1f} s for 3 tasks")

# %%
# :func:`~sklearn_mlarch.plotting.plot_task_scores` draws the multi-task
# model's test accuracy per task (named after the columns of ``y``: here
# ``task0`` to ``task2``, renamed below); beside it, the three networks
# trained apart.
fig, (ax_multi, ax_single) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
plot_task_scores(multi, X_test, Y_test, ax=ax_multi)
ax_multi.set_xticks(range(len(tasks)), labels=tasks)
bars = ax_single.bar(tasks, single, color=[f"C{t}" for t in range(len(tasks))])
ax_single.bar_label(bars, fmt="%.3f")
ax_single.set_xlabel("task")
ax_single.set_title("CNNClassifier: one network per task")
ax_multi.set_ylim(0, 1.1)
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
