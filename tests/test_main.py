import re
import subprocess
import sys

import pytest

from sklearn_mlarch.__main__ import main


def test_demo_quick_writes_a_report_with_every_section_and_plot(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sklearn_mlarch", "demo", "--quick",
                          "--output", str(tmp_path)],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    report = (tmp_path / "report.md").read_text()
    for name in ("CNNClassifier", "RNNClassifier", "SVC", "MLPClassifier",
                 "BaggingClassifier", "DeepEnsembleClassifier", "HyperbandSearchCV",
                 "MultiTaskClassifier", "Transfer", "Meta-learning", "FOMAML"):
        assert name in out and name in report
    # every table row printed is in the report, as a markdown row
    assert "| MultiTaskClassifier (one shared CNN trunk) |" in report
    for png in ("digits_learning_curves", "hyperband_brackets", "multitask_scores",
                "maml_adaptation"):
        assert (tmp_path / f"{png}.png").stat().st_size > 1000
        assert f"![{png}.png]({png}.png)" in report
    maml = re.findall(r"^\| (MAML|FOMAML) \| (\S+) ± \S+ \| \S+ ± \S+ \| (\S+) ± ", report,
                      flags=re.M)
    assert len(maml) == 2
    for _, no_step, ten_steps in maml:
        assert float(ten_steps) < float(no_step)  # adapting to a new task lowers its error
    assert re.search(r"demo finished in \d+ s; report: .*report\.md", out)


def test_demo_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--output", "--sections", "--no-plots", "--quick", "meta"):
        assert option in text


def test_demo_rejects_an_unknown_section(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--sections", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_bench_command_lists_the_registered_benchmarks(capsys):
    from sklearn_mlarch._bench import REGISTRY

    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--list"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert len(REGISTRY) > 10
    for name in REGISTRY:  # name -> Benchmark
        assert name in out
