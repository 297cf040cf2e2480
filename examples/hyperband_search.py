"""Tune a CNN with HyperbandSearchCV and compare its cost with random search.

Run: python examples/hyperband_search.py [--quick]
"""

import sys

from scipy.stats import loguniform, uniform

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.model_selection import HyperbandSearchCV

quick = "--quick" in sys.argv
X, y = load_digits_images(flat=True)
max_epochs = 3 if quick else 27
space = {"lr": loguniform(3e-4, 3e-2), "channels": [(8,), (16, 32), (32, 64)],
         "hidden_sizes": [(32,), (128,)], "dropout": uniform(0.0, 0.5)}
search = HyperbandSearchCV(CNNClassifier(input_shape=(1, 8, 8)), space,
                           max_resource=max_epochs, cv=3, n_jobs=2, random_state=0)
search.fit(X, y)
n_configs = int((search.cv_results_["rung"] == 0).sum())
print(f"{n_configs} configurations, {search.total_resource_:.0f} epochs per fold "
      f"(random search at full budget: {n_configs * max_epochs})")
print(f"best CV accuracy {search.best_score_:.4f}: {search.best_params_}")
