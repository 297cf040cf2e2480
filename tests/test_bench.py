"""``python -m sklearn_mlarch bench``: RESULTS.md's blocks, the registry, runs end to end.

No real benchmark runs here: the end-to-end tests use a fake benchmarks
folder whose scripts print a table at once.
"""

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sklearn_mlarch import _bench
from sklearn_mlarch._bench import (REGISTRY, Benchmark, BenchError, main, read_blocks,
                                   replace_block, run)

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

DOC = """# Results

Prose before: 1.05x, kept.

<!-- bench:alpha -->
_Measured 2026-01-01 on an old machine._

| a | b |
|---|---|
| 1 | 2 |

<!-- /bench:alpha -->

Prose between, kept.

<!-- bench:beta -->
| c |
<!-- /bench:beta -->
Prose after.
"""


def test_replace_block_keeps_the_prose_around_and_is_idempotent():
    body = "_Measured today._\n\n| a | b |\n|---|---|\n| 3 | 4 |\n"
    new = replace_block(DOC, "alpha", body)
    head, tail = DOC.split("<!-- bench:alpha -->")[0], DOC.split("<!-- /bench:alpha -->")[1]
    assert new.startswith(head + "<!-- bench:alpha -->\n_Measured today._\n\n| a | b |")
    assert new.endswith("| 3 | 4 |\n\n<!-- /bench:alpha -->" + tail)
    assert "| 1 | 2 |" not in new and "old machine" not in new
    assert read_blocks(new) == {"alpha": "\n" + body + "\n", "beta": "\n| c |\n"}
    assert replace_block(new, "alpha", body) == new
    assert replace_block(DOC, "alpha", read_blocks(DOC)["alpha"]) == DOC


@pytest.mark.parametrize("text, message", [
    ("<!-- bench:a -->\n| x |\n", "never closed"),
    ("<!-- bench:a -->\n<!-- bench:b -->\n<!-- /bench:b -->\n<!-- /bench:a -->", "inside"),
    ("<!-- bench:a -->\n<!-- /bench:a -->\n<!-- bench:a -->\n<!-- /bench:a -->", "two blocks"),
    ("| x |\n<!-- /bench:a -->", "closes no open block"),
])
def test_malformed_markers_are_reported(text, message):
    with pytest.raises(BenchError, match=message):
        read_blocks(text)


def test_replacing_a_missing_block_says_which_markers_to_add():
    with pytest.raises(BenchError, match="no block 'gamma'.*<!-- bench:gamma -->"):
        replace_block(DOC, "gamma", "| x |")


def test_unknown_names_raise_a_clear_error(capsys):
    with pytest.raises(ValueError, match=r"unknown benchmark 'nope'; known: checks, "):
        run(["overhead", "nope"], dry_run=True)
    assert main(["--only", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_list_and_dry_run_print_every_registered_command(capsys):
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert main(["--dry-run"]) == 0
    planned = capsys.readouterr().out
    for b in REGISTRY.values():
        assert b.command in listed and b.command in planned
        assert f"{b.name}: {b.command}" in planned
    assert "(needs a CUDA device)" in listed and "(needs sktime, numba)" in listed
    assert main(["--dry-run", "--only", "digits"]) == 0
    assert capsys.readouterr().out.count("python benchmarks/") == 1


def test_names_or_all_select_what_runs_and_nothing_runs_without(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(_bench, "run", lambda names, **kwargs: calls.append(names) or 0)
    assert main([]) == 2 and calls == []  # lists, asks, runs nothing
    err = capsys.readouterr().err
    assert "nothing selected" in err and "total" in err and "--all" in err
    assert main(["--all"]) == 0 and calls == [None]  # None: every benchmark
    assert main(["overhead", "digits"]) == 0 and calls[-1] == ["overhead", "digits"]
    assert main(["--only", "digits"]) == 0 and calls[-1] == ["digits"]
    assert main(["--all", "digits"]) == 2 and len(calls) == 3
    assert "not both" in capsys.readouterr().err


def test_results_blocks_and_registry_match():
    text = (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8")
    assert list(read_blocks(text)) == list(REGISTRY)  # every block registered, and in order
    for b in REGISTRY.values():
        assert f"`{b.command}`" in text  # the section states the command that regenerates it
        assert Path(b.argv(BENCHMARKS)[1]).is_file()
        assert read_blocks(text)[b.name].startswith("\n_Measured ")


def test_missing_folder_asks_for_a_source_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(_bench, "_PACKAGE_PARENT", tmp_path)
    with pytest.raises(BenchError, match="run from a source checkout"):
        run(["digits"])


def test_unavailable_requirement_skips_and_keeps_the_block(monkeypatch, tmp_path):
    (tmp_path / "RESULTS.md").write_text(DOC.replace("alpha", "overhead"))
    monkeypatch.setitem(REGISTRY, "overhead", Benchmark(
        "overhead", "python benchmarks/bench_overhead.py", 1, ("no_such_module_here",)))
    out = io.StringIO()
    assert run(["overhead"], benchmarks=tmp_path, out=out) == 0
    assert "skipped, needs no_such_module_here" in out.getvalue()
    assert (tmp_path / "RESULTS.md").read_text() == DOC.replace("alpha", "overhead")


# a fake benchmarks folder: the registered names, scripts that finish at once
FAKE_OVERHEAD = """
import sys
print("progress goes to stderr", file=sys.stderr)
print("| | median time (s) |")
print("|---|---|")
print("| args | " + " ".join(sys.argv[1:]) + " |")
"""
FAKE_FAILING = """
print("| model | mean accuracy |")
raise SystemExit(3)
"""
FAKE_RESULTS = """# Results

Overhead prose, kept.

<!-- bench:overhead -->
| old overhead table |
<!-- /bench:overhead -->

Digits prose, kept.

<!-- bench:digits -->
| old digits table |
<!-- /bench:digits -->
"""


def _bench_cli(*args):
    return subprocess.run([sys.executable, "-m", "sklearn_mlarch._bench", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake_benchmarks(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "bench_overhead.py").write_text(textwrap.dedent(FAKE_OVERHEAD))
    (folder / "bench_digits_accuracy.py").write_text(textwrap.dedent(FAKE_FAILING))
    (folder / "RESULTS.md").write_text(FAKE_RESULTS)
    return folder


def test_a_script_regenerates_its_block_end_to_end(fake_benchmarks):
    results = fake_benchmarks / "RESULTS.md"
    done = _bench_cli("--benchmarks", fake_benchmarks, "--only", "overhead")
    assert done.returncode == 0, done.stderr
    assert "progress goes to stderr" in done.stderr
    text = results.read_text()
    block = read_blocks(text)["overhead"]
    assert block.startswith("\n_Measured 20")
    assert "CPUs; Python" in block and "torch " in block and "scikit-learn " in block
    assert block.endswith("| args | --repeats 16 --epochs 10 |\n\n")  # the registered command
    assert "old overhead table" not in text
    assert text.replace(block, "") == FAKE_RESULTS.replace("\n| old overhead table |\n", "")
    again = _bench_cli("--benchmarks", fake_benchmarks, "--only", "overhead")
    assert again.returncode == 0 and results.read_text() == text


def test_a_failing_script_keeps_its_block_and_exits_non_zero(fake_benchmarks, tmp_path):
    results = tmp_path / "copy.md"
    results.write_text(FAKE_RESULTS)
    done = _bench_cli("--benchmarks", fake_benchmarks, "--results", results,
                      "--only", "digits", "overhead")
    assert done.returncode == 1
    assert "1 regenerated, 0 skipped, 1 failed: digits (exit status 3)" in done.stdout
    blocks = read_blocks(results.read_text())
    assert blocks["digits"] == "\n| old digits table |\n"
    assert "| args | --repeats 16 --epochs 10 |" in blocks["overhead"]
    assert (fake_benchmarks / "RESULTS.md").read_text() == FAKE_RESULTS
