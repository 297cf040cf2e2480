"""The demo's report, as a careful reader reads it (issue 23, point 6).

One quick run of the whole demo, module-scoped, through the command line's
``main(["demo", "--quick", ...])`` (what ``python -m sklearn_mlarch demo
--quick`` runs), with the plots' Axes recorded before they are saved.
"""

import contextlib
import io
import re

import numpy as np
import pytest

from sklearn_mlarch import demo
from sklearn_mlarch.__main__ import main
from sklearn_mlarch.demo import (BUDGETS, SECTIONS, Report, budget_text, score_decimals,
                                 score_text)


def _axes_facts(ax):
    legend = ax.get_legend()
    return dict(title=ax.get_title(), ylabel=ax.get_ylabel(),
                xticks=[t.get_text() for t in ax.get_xticklabels()],
                heights=[bar.get_height() for bar in ax.patches],
                bar_labels=[t.get_text() for t in ax.texts],
                legend=[t.get_text() for t in legend.get_texts()] if legend else [])


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``(report text, stdout, {figure name: facts of its Axes}, output folder)``."""
    pytest.importorskip("matplotlib")
    output = tmp_path_factory.mktemp("demo")
    figures, save = {}, Report.figure

    def figure(self, name, draw):
        def recorded():
            ax = draw()
            figures[name] = _axes_facts(ax)
            return ax

        return save(self, name, recorded)

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setattr(Report, "figure", figure)
        main(["demo", "--quick", "--output", str(output)])
    return (output / "report.md").read_text(), out.getvalue(), figures, output


def test_the_quick_demo_writes_a_report_with_every_section_and_plot(quick):
    report, out, _, output = quick
    for name in ("CNNClassifier", "RNNClassifier", "SVC", "MLPClassifier",
                 "BaggingClassifier", "DeepEnsembleClassifier", "HyperbandSearchCV",
                 "MultiTaskClassifier", "Transfer", "Meta-learning", "FOMAML", "Few-shot",
                 "PrototypicalClassifier", "NearestCentroid on pixels"):
        assert name in out and name in report
    # every table row printed is in the report, as a markdown row
    assert "| MultiTaskClassifier (one shared CNN trunk) |" in report
    for png in ("digits_learning_curves", "hyperband_brackets", "multitask_scores",
                "maml_adaptation"):
        assert (output / f"{png}.png").stat().st_size > 1000
        assert f"![{png}.png]({png}.png)" in report
    maml = re.findall(r"^\| (MAML|FOMAML) \| (\S+) ± \S+ \| \S+ ± \S+ \| (\S+) ± ", report,
                      flags=re.M)
    assert len(maml) == 2
    for _, no_step, ten_steps in maml:
        assert float(ten_steps) < float(no_step)  # adapting to a new task lowers its error
    few_shot = re.findall(r"^\| (PrototypicalClassifier|NearestCentroid)[^|]* \| (\S+) ± (\S+) "
                          r"\| ", report, flags=re.M)
    assert [name for name, _, _ in few_shot] == ["PrototypicalClassifier", "NearestCentroid"]
    for _, accuracy, half in few_shot:  # 5-way 1-shot query accuracy and its 95 % interval
        assert 0 <= float(accuracy) <= 1 and float(half) >= 0
    assert re.search(r"demo finished in \d+ s; report: .*report\.md", out)


def _tables(report):
    """``{section title: (columns, rows)}`` of the markdown tables under ``## `` titles."""
    tables, title = {}, None
    for line in report.splitlines():
        if line.startswith("## "):
            title = line[3:]
        elif title and line.startswith("| ") and title not in tables:
            tables[title] = ([c.strip() for c in line.strip("|").split("|")], [])
        elif title and line.startswith("| "):
            tables[title][1].append([c.strip() for c in line.strip("|").split("|")])
    return tables


def _table(report, start):
    [(columns, rows)] = [t for title, t in _tables(report).items() if title.startswith(start)]
    return columns, rows


# ------------------------------------------------------------ 1. search rows
def test_every_search_row_is_a_search_that_ran(quick):
    report, stdout, _, _ = quick
    columns, rows = _table(report, "HyperbandSearchCV")
    assert "random search, same configurations" not in report + stdout
    assert [r[0] for r in rows] == ["HyperbandSearchCV(eta=3)",
                                    "RandomizedSearchCV (scikit-learn)"]
    for row in rows:  # every cell measured: no "-" for a run that did not happen
        assert all(cell not in ("", "-") for cell in row), row
        configs, epochs, accuracy, seconds = map(float, row[1:])
        assert configs >= 1 and 0 < accuracy <= 1 and seconds > 0
    hyperband, randomized = rows
    # the random search is given no more epochs per fold than Hyperband spent
    assert 0 < float(randomized[2]) <= float(hyperband[2])
    b = BUDGETS["quick"]
    assert float(randomized[2]) == float(randomized[1]) * b["search_epochs"]


# --------------------------------------------------------- 2. multi-task plot
def test_multitask_plot_names_the_tasks_and_shows_each_baseline(quick):
    report, _, figures, output = quick
    columns, rows = _table(report, "Multi-task")
    tasks = columns[1:-1]
    assert tasks == ["digit", "parity", "digit >= 5"]
    fig = figures["multitask_scores"]
    assert fig["xticks"] == tasks  # not task0, task1, task2
    assert not any(t.startswith("task") for t in fig["xticks"])
    # one bar per task for the multi-task model, then one per task for its baseline
    assert len(fig["heights"]) == 2 * len(tasks)
    assert fig["legend"] == ["MultiTaskClassifier", "CNNClassifier, one per task"]
    table = {r[0]: r[1:-1] for r in rows}
    multi = table["MultiTaskClassifier (one shared CNN trunk)"]
    single = table["3 x CNNClassifier (one per task)"]
    # the bars are the table's scores, labelled as the table writes them
    assert fig["bar_labels"] == multi + single
    np.testing.assert_allclose(fig["heights"], [float(s) for s in multi + single],
                               atol=0.005 + 1e-9)
    assert (output / "multitask_scores.png").stat().st_size > 1000


# ------------------------------------------------------ 3. learning curves
def test_learning_curves_name_their_fit_and_their_loss(quick):
    report, _, figures, _ = quick
    fig = figures["digits_learning_curves"]
    assert fig["ylabel"].startswith("cross-entropy loss")
    b = BUDGETS["quick"]
    # the estimator, its budget and the data it was fitted on (1,797 digits, 10 % held out)
    assert "CNNClassifier(" in fig["title"] and f"max_epochs={b['epochs']}" in fig["title"]
    assert "digits" in fig["title"]
    assert "1617 training rows, 180 validation rows" in fig["title"]
    assert "The learning curves are one more fit" in report


# --------------------------------------------------------------- 4. precision
def test_score_text_shows_the_decimals_the_test_size_supports():
    # an accuracy on ~360 rows has a standard error up to 0.026: 2 decimals, not 3 or 4
    assert score_text(0.97312, n=360) == "0.97"
    assert score_text(0.97312, n=1797) == "0.97"
    assert score_text(0.97312, n=10_000) == "0.973"  # se <= 0.005
    assert score_text(0.5, n=16) == "0.5"
    assert score_decimals(n=2500) == 2 and score_decimals(n=2501) == 3
    # a ± spread coarser than the binomial bound sets the decimals, and is shown with them
    assert score_text(0.45231, n=15_000, spread=0.0213) == "0.45 ± 0.02"
    assert score_text(3.14159, spread=0.31) == "3.1 ± 0.3"
    assert score_text(0.123456, spread=0.004) == "0.123 ± 0.004"
    with pytest.raises(ValueError, match="needs n"):
        score_decimals()


def test_report_rows_refuse_unformatted_scores(tmp_path):
    report = Report(None)
    report.section("t", ["model", "accuracy"])
    with pytest.raises(TypeError, match="score_text"):
        report.row("m", 0.973123)
    with pytest.raises(TypeError, match="score_text"):
        report.row("m", np.float64(0.973123))


def test_every_score_in_the_tables_has_the_decimals_its_test_size_supports(quick):
    report, stdout, _, _ = quick
    tables = _tables(report)
    checked = 0
    for title, (columns, rows) in tables.items():
        score_columns = [i for i, c in enumerate(columns)
                         if "accuracy" in c or c in ("± std", "digit", "parity", "digit >= 5")]
        for row in rows:
            for i in score_columns:
                # 450 test rows (multi-task) or 1,797 (cross-validation): 2 decimals
                assert re.fullmatch(r"\d\.\d\d", row[i]), (title, row)
                # the printed tables say the same
                assert re.search(rf" {re.escape(row[i])}( |$)", stdout, flags=re.M), (title, row)
                checked += 1
    assert checked >= 4 * 2 + 2 + 2 * 3
    table_lines = "\n".join(line for line in report.splitlines() if line.startswith("| "))
    assert not re.search(r"\d\.\d{4}", table_lines)  # no 4-decimal score in any table


# ----------------------------------------------------------------- 5. budgets
def test_the_report_says_whose_budgets_ran(quick, tmp_path):
    report, _, _, _ = quick
    assert "default budgets" not in report
    assert "quick mode" in report and "max_epochs=2 for the digits CNN and RNN" in report
    # the default mode: the demo's budgets, set beside the estimators' own default
    path = Report(str(tmp_path), plots=False).write(1.0, "default",
                                                    budget_text(BUDGETS["default"]))
    with open(path) as f:
        text = f.read()
    assert "default budgets" not in text
    assert "Budgets: the demo's" in text and "not the estimators' defaults" not in text
    b = BUDGETS["default"]
    assert f"max_epochs={b['epochs']} for the digits CNN and RNN" in text
    assert "max_epochs='auto'" in text and "79 epochs" in text
    assert f"n_meta_iter={b['meta_iter']}" in budget_text(b)


# -------------------------------------------------------------------- 6. time
def test_the_report_states_the_total_time_once_and_each_section_time_in_a_table(quick):
    report, stdout, _, _ = quick
    totals = re.findall(r"\b(\d+) s\b", report)
    assert len(totals) == 1  # the total, once: the sections' times are in the table
    total = int(totals[0])
    assert f"The demo ran in {total} s" in report
    header = report.split("\n## ")[0]  # before the first section
    assert "| section (`--sections`) | time (s) |" in header
    rows = re.findall(r"^\| (\w+) \| (\d+) \|$", header, flags=re.M)
    assert [name for name, _ in rows] == list(SECTIONS)
    seconds = [float(s) for _, s in rows]
    assert all(s >= 0 for s in seconds) and sum(seconds) <= total + len(SECTIONS)
    assert re.search(rf"demo finished in {total} s", stdout)
    assert not re.search(r"\b\d+ s (when measured|on 2 cores)", demo.__doc__)


def test_plot_task_scores_draws_a_baseline_beside_each_task():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from sklearn_mlarch import FeedForwardRegressor, MultiTaskRegressor
    from sklearn_mlarch.plotting import plot_task_scores

    X = np.random.RandomState(0).rand(60, 4)
    Y = np.c_[X.sum(axis=1), X[:, 0] - X[:, 1]]
    reg = MultiTaskRegressor(FeedForwardRegressor(max_epochs=2), random_state=0).fit(X, Y)
    try:
        ax = plot_task_scores(reg, X, Y, baseline=[0.5, 0.25], fmt="%.2f")
        assert [bar.get_height() for bar in ax.patches][2:] == [0.5, 0.25]
        assert [t.get_text() for t in ax.texts][2:] == ["0.50", "0.25"]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "MultiTaskRegressor", "baseline"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["task0", "task1"]
        with pytest.raises(ValueError, match="'single' has 3 scores; it needs one per task"):
            plot_task_scores(reg, X, Y, baseline={"single": [0.1, 0.2, 0.3]})
    finally:
        plt.close("all")
