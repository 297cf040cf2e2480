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

from sklearn_mlarch import FeedForwardRegressor, MAMLRegressor
from sklearn_mlarch.datasets import SinusoidTasks
from sklearn_mlarch.meta_learning import evaluate_adaptation

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
# An adapted model is an ordinary fitted regressor for its one task.
X, y, _ = tasks.make_tasks(n_tasks=1, n_points=10, random_state=2)
model = maml.adapt(X, y, steps=10)
print(f"one new task, R² on its 10 points after 10 steps: {model.score(X, y):.3f}")
