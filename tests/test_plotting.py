import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from skorch.callbacks import EpochScoring  # noqa: E402

from sklearn_mlarch import (CNNClassifier, FeedForwardRegressor, MAMLRegressor,  # noqa: E402
                            MultiTaskClassifier, MultiTaskRegressor)
from sklearn_mlarch.datasets import SinusoidTasks  # noqa: E402
from sklearn_mlarch.meta_learning import evaluate_adaptation  # noqa: E402
from sklearn_mlarch.model_selection import HyperbandSearchCV  # noqa: E402
from sklearn_mlarch.plotting import (plot_adaptation, plot_history,  # noqa: E402
                                     plot_hyperband, plot_task_scores)
from sklearn_mlarch.utils._testing import fast_instance  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cnn(digits):
    """3 epochs with early stopping (valid_loss) and a validation accuracy callback."""
    X, y = digits
    return fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=3,
                         early_stopping=True, validation_fraction=0.2,
                         callbacks=[EpochScoring("accuracy", name="valid_acc")]
                         ).fit(X[:150], y[:150])


@pytest.fixture(scope="module")
def maml():
    return fast_instance(MAMLRegressor, n_meta_iter=10).fit(SinusoidTasks())


# ----------------------------------------------------------------- import
def test_importing_the_package_and_module_does_not_import_matplotlib():
    code = ("import sys, sklearn_mlarch, sklearn_mlarch.plotting; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_says_how_to_install_it(monkeypatch, cnn):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib.*sklearn_mlarch\[plot\]"):
        plot_history(cnn)


def test_ax_must_be_an_axes(cnn):
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_history(cnn, ax=plt.figure())


# ---------------------------------------------------------------- history
def test_history_draws_train_and_valid_loss_of_each_epoch(cnn):
    ax = plot_history(cnn)
    assert [line.get_label() for line in ax.lines] == ["train_loss", "valid_loss"]
    train, valid = ax.lines
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(train.get_ydata(), cnn.history_[:, "train_loss"])
    np.testing.assert_allclose(valid.get_ydata(), cnn.history_[:, "valid_loss"])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert "CNNClassifier" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_loss", "valid_loss"]


def test_history_plots_callback_metrics_on_the_given_axes(cnn):
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot_history(cnn, metrics="valid_acc", ax=right)
    assert ax is right and not left.lines
    np.testing.assert_allclose(ax.lines[0].get_ydata(), cnn.history_[:, "valid_acc"])
    assert ax.get_ylabel() == "value"
    ax = plot_history(cnn, metrics=["train_loss", "valid_acc"])
    assert [line.get_label() for line in ax.lines] == ["train_loss", "valid_acc"]


def test_history_of_a_pipeline_without_early_stopping_is_train_loss(digits):
    X, y = digits
    pipe = make_pipeline(FunctionTransformer(),
                         fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=2))
    ax = plot_history(pipe.fit(X[:100], y[:100]))
    assert [line.get_label() for line in ax.lines] == ["train_loss"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), pipe[-1].history_[:, "train_loss"])
    assert len(ax.lines[0].get_ydata()) == 2


def test_history_of_maml_counts_meta_iterations(maml):
    ax = plot_history(maml)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), maml.history_[:, "train_loss"])
    assert ax.get_xlabel() == "meta-iterations"
    # a warm start of 30 after 150: rows at 100, 150 and 180 meta-iterations
    longer = fast_instance(MAMLRegressor, n_meta_iter=150).fit(SinusoidTasks())
    longer.set_params(estimator__warm_start=True, n_meta_iter=30).fit(SinusoidTasks())
    np.testing.assert_array_equal(plot_history(longer).lines[0].get_xdata(), [100, 150, 180])


def test_history_errors(cnn):
    with pytest.raises(NotFittedError):
        plot_history(fast_instance(CNNClassifier))
    with pytest.raises(ValueError, match=r"\['train_acc'\] are not recorded.*recorded: "
                                         r"\[.*'train_loss', 'valid_loss'.*'valid_acc'"):
        plot_history(cnn, metrics=["train_loss", "train_acc"])
    with pytest.raises(ValueError, match="metrics must be"):
        plot_history(cnn, metrics=[])
    with pytest.raises(TypeError, match="estimator must be an estimator of sklearn_mlarch.*"
                                        "got LogisticRegression"):
        plot_history(LogisticRegression())


# -------------------------------------------------------------- hyperband
class Scored(ClassifierMixin, BaseEstimator):
    """Scores ``quality + max_iter / 1000``: each candidate's line has its own offset."""

    def __init__(self, max_iter=9, quality=0.0):
        self.max_iter = max_iter
        self.quality = quality

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return self.quality + self.max_iter / 1000


def _search(**kwargs):
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), np.arange(40) % 2
    qualities = list(np.linspace(0, 1, 40))  # distinct: no ties in promotion
    return HyperbandSearchCV(Scored(), {"quality": qualities}, resource="max_iter",
                             max_resource=9, eta=3, cv=2, random_state=0, **kwargs).fit(X, y)


@pytest.mark.parametrize("scheduler", ["parallel", "async"])
def test_hyperband_draws_each_candidate_across_its_rungs(scheduler):
    search = _search(scheduler=scheduler)
    ax = plot_hyperband(search)
    res = search.cv_results_
    assert len(ax.lines) == np.sum(res["rung"] == 0)
    assert len(ax.lines) == sum(n[0] for n in search.n_candidates_)
    by_bracket = {}
    for line in ax.lines:
        by_bracket.setdefault(line.get_color(), []).append(line)
    assert len(by_bracket) == len(search.brackets_)  # one colour per bracket
    for (colour, lines), resources, counts in zip(by_bracket.items(), search.n_resources_,
                                                  search.n_candidates_):
        for rung, n in enumerate(counts):  # n candidates reached each rung
            assert sum(len(line.get_xdata()) > rung for line in lines) == n
        for line in lines:
            x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
            np.testing.assert_array_equal(x, resources[:len(x)])
            # one candidate per line: the same quality at every rung
            np.testing.assert_allclose(y - x / 1000, y[0] - x[0] / 1000)
    points = sorted((x, y) for line in ax.lines for x, y in zip(*line.get_data()))
    expected = sorted(zip(res["n_resources"], res["mean_test_score"]))
    np.testing.assert_allclose(points, expected)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel().startswith("max_iter") and ax.get_ylabel() == "mean test score"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"bracket s={b['s']}" for b in search.brackets_] + ["best"]
    best = ax.collections[0].get_offsets()[0]
    np.testing.assert_allclose(best, [9, search.best_score_])


def test_hyperband_with_several_metrics_plots_the_refit_one():
    scoring = {"double": lambda est, X, y: 2 * est.score(X, y),
               "plain": lambda est, X, y: est.score(X, y)}
    search = _search(scoring=scoring, refit="double")
    ax = plot_hyperband(search)
    assert ax.get_ylabel() == "mean test double"
    points = sorted(y for line in ax.lines for y in line.get_ydata())
    np.testing.assert_allclose(points, sorted(search.cv_results_["mean_test_double"]))


def test_hyperband_errors():
    with pytest.raises(NotFittedError):
        plot_hyperband(HyperbandSearchCV(Scored(), {"quality": [0, 1]}, resource="max_iter"))
    grid = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(np.eye(4), [0, 1] * 2)
    with pytest.raises(TypeError, match="search must be a fitted HyperbandSearchCV, got "
                                        "GridSearchCV"):
        plot_hyperband(grid)


# ------------------------------------------------------------- adaptation
def _result(mean, ci95, metric="mse"):
    return {"steps": [0, 1, 10], "mean": np.array(mean), "ci95": np.array(ci95),
            "scores": np.zeros((5, 3)), "metric": metric}


def _errorbars(container):
    line, _, (bars,) = container.lines
    segments = np.array(bars.get_segments())  # per step: [[x, low], [x, high]]
    return line.get_xdata(), line.get_ydata(), segments


def test_adaptation_of_one_result_draws_mean_and_interval():
    res = _result([3.0, 1.0, 0.5], [0.3, 0.2, 0.1])
    ax = plot_adaptation(res)
    (container,) = ax.containers
    x, y, seg = _errorbars(container)
    np.testing.assert_array_equal(x, res["steps"])
    np.testing.assert_allclose(y, res["mean"])
    np.testing.assert_allclose(seg[:, 0, 1], res["mean"] - res["ci95"])
    np.testing.assert_allclose(seg[:, 1, 1], res["mean"] + res["ci95"])
    assert ax.get_legend() is None
    assert "adaptation steps" in ax.get_xlabel() and "squared error" in ax.get_ylabel()
    np.testing.assert_array_equal(ax.get_xticks(), [0, 1, 10])


def test_adaptation_of_several_results_shares_the_axes():
    first, second = _result([3.0, 1.0, 0.5], [0.3, 0.2, 0.1]), _result([3, 2, 1], [1, 1, 1])
    ax = plot_adaptation({"MAML": first, "FOMAML": second})
    assert [c.get_label() for c in ax.containers] == ["MAML", "FOMAML"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["MAML", "FOMAML"]
    for container, res in zip(ax.containers, [first, second]):
        _, y, seg = _errorbars(container)
        np.testing.assert_allclose(y, res["mean"])
        np.testing.assert_allclose(seg[:, 1, 1] - seg[:, 0, 1], 2 * res["ci95"])


def test_adaptation_of_a_real_evaluation(maml):
    res = evaluate_adaptation(maml, SinusoidTasks(), steps=[0, 1, 3], n_tasks=5,
                              random_state=0)
    _, y, seg = _errorbars(plot_adaptation(res).containers[0])
    np.testing.assert_allclose(y, res["mean"])
    np.testing.assert_allclose(seg[:, 1, 1], res["mean"] + res["ci95"])


def test_adaptation_errors():
    res = _result([3.0, 1.0, 0.5], [0.3, 0.2, 0.1])
    with pytest.raises(TypeError, match=r"results\['MAML'\] must be a dict returned by "
                                        r"sklearn_mlarch.meta_learning.evaluate_adaptation"):
        plot_adaptation({"MAML": {"mean": [1.0]}})
    with pytest.raises(TypeError, match="results must be a dict.*got list"):
        plot_adaptation([res])
    with pytest.raises(TypeError, match=r"got dict \(empty\)"):
        plot_adaptation({})
    with pytest.raises(ValueError, match="mix metrics"):
        plot_adaptation({"a": res, "b": _result([0.2, 0.5, 0.9], [0, 0, 0], "accuracy")})
    with pytest.raises(ValueError, match="3 steps, 2 means"):
        plot_adaptation(_result([1.0, 2.0], [0.1, 0.1, 0.1]))


# ------------------------------------------------------------- multi-task
def test_task_scores_draw_one_bar_per_task(digits):
    pd = pytest.importorskip("pandas")
    X, digit = digits[0][:120], digits[1][:120]
    Y = pd.DataFrame({"digit": digit, "odd": digit % 2, "big": digit >= 5})
    clf = fast_instance(MultiTaskClassifier, estimator=fast_instance(
        CNNClassifier, input_shape=(1, 8, 8), max_epochs=2)).fit(X, Y)
    ax = plot_task_scores(clf, X, Y)
    scores = clf.score_tasks(X, Y)
    assert len(ax.patches) == 3
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], scores)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["digit", "odd", "big"]
    assert ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in ax.texts] == [f"{s:.3f}" for s in scores]


def test_task_scores_of_a_regressor_are_r2():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 4)
    Y = np.c_[X.sum(axis=1), X[:, 0] - X[:, 1]]
    reg = MultiTaskRegressor(FeedForwardRegressor(max_epochs=2), random_state=0).fit(X, Y)
    ax = plot_task_scores(reg, X, Y)
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches],
                               reg.score_tasks(X, Y))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["task0", "task1"]
    assert ax.get_ylabel() == "R²"


def test_task_scores_errors(cnn, digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        plot_task_scores(MultiTaskRegressor(), X, np.c_[y, y])
    with pytest.raises(TypeError, match="MultiTaskClassifier or MultiTaskRegressor.*got "
                                        "CNNClassifier"):
        plot_task_scores(cnn, X, y)
