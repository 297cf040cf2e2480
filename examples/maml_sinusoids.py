"""
MAML on sinusoid tasks
======================

Each task is a sine wave ``y = A sin(x - phase)`` with its own amplitude and
phase, seen through only 10 points. :class:`~sklearn_mlarch.MAMLRegressor`
learns an initialisation of a small network from which a few gradient
steps on those 10 points fit a new wave (Finn, Abbeel and Levine, 2017).
:func:`~sklearn_mlarch.meta_learning.evaluate_adaptation` adapts it to 100
new tasks and reports the mean squared error on 100 other points of each,
after 0 steps (the initialisation alone: one curve for every task), 1 step
and 10 steps.

Run ``python examples/maml_sinusoids.py`` (add ``--quick`` for a smoke run
on tiny settings).
"""

import sys
import time

import matplotlib.pyplot as plt
import numpy as np

from sklearn_mlarch import FeedForwardRegressor, MAMLRegressor
from sklearn_mlarch.datasets import SinusoidTasks
from sklearn_mlarch.meta_learning import evaluate_adaptation
from sklearn_mlarch.plotting import plot_adaptation

quick = "--quick" in sys.argv
tasks = SinusoidTasks()  # amplitude U[0.1, 5], phase U[0, pi], x U[-5, 5]

# %%
# The paper's setting (a 40-40 network meta-trained with Adam at 1e-3, 10
# points per task, inner learning rate 0.01, 25 tasks per meta-batch), with
# 1,500 meta-iterations instead of the 30,000 of ``benchmarks/bench_maml.py``:
# enough to see adaptation work. MAML wraps the network whose initialisation
# it learns; that estimator's ``lr`` is the meta-learning rate.
start = time.perf_counter()
maml = MAMLRegressor(FeedForwardRegressor(hidden_sizes=(40, 40), lr=1e-3),
                     k_shot=10, inner_lr=0.01, inner_steps=1, meta_batch_size=25,
                     n_meta_iter=300 if quick else 1500, random_state=0).fit(tasks)
print(f"MAMLRegressor: {maml.n_meta_iter_} meta-iterations in "
      f"{time.perf_counter() - start:.1f} s")

# %%
# New tasks, never seen in meta-training.
res = evaluate_adaptation(maml, tasks, steps=[0, 1, 10], n_tasks=100, n_query=100,
                          random_state=1)
for steps, mse, half in zip(res["steps"], res["mean"], res["ci95"]):
    print(f"MAMLRegressor after {steps:>2} steps: MSE {mse:.3f} ± {half:.3f}")

# %%
# An adapted model is an ordinary fitted regressor for its one task. The task
# is drawn with 200 points: the first 10 are all the model sees, the others
# trace the wave in the figure below.
X_wave, y_wave, _ = tasks.make_tasks(n_tasks=1, n_points=200, random_state=2)
X, y = X_wave[:10], y_wave[:10]
model = maml.adapt(X, y, steps=10)
print(f"one new task, R² on its 10 points after 10 steps: {model.score(X, y):.3f}")

# %%
# Left, :func:`~sklearn_mlarch.plotting.plot_adaptation` draws the error on
# the new tasks after each number of steps. Right, the new task: the
# initialisation (0 steps) is the same curve for every task, and a few steps
# on the 10 points bend it towards this task's wave.
fig, (ax_steps, ax_task) = plt.subplots(1, 2, figsize=(11, 4))
plot_adaptation(res, ax=ax_steps)
order = np.argsort(X_wave[:, 0])
ax_task.plot(X_wave[order, 0], y_wave[order], color="black", linewidth=3, alpha=0.3,
             label="the task's wave")
grid = np.linspace(-5, 5, 200, dtype=np.float32).reshape(-1, 1)
for steps in (0, 1, 10):
    ax_task.plot(grid[:, 0], maml.adapt(X, y, steps=steps).predict(grid),
                 label=f"after {steps} steps")
ax_task.scatter(X[:, 0], y, color="black", zorder=3, label="its 10 points")
ax_task.set_xlabel("x")
ax_task.set_ylabel("y")
ax_task.set_title("One new task")
ax_task.legend()
fig.tight_layout()
if not quick:  # the smoke run (--quick) draws the figures without showing them
    plt.show()
