import re
import subprocess
import sys

import pytest

from sklearn_mlarch.__main__ import main


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


def test_help_and_bench_list_import_no_torch():
    code = ("import sys; from sklearn_mlarch.__main__ import main\n"
            "try:\n    main(['bench', '--list'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_version_prints_the_package_version_without_torch():
    code = ("import sys; from sklearn_mlarch.__main__ import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit as exc:\n"
            "    print(exc.code, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    from sklearn_mlarch import __version__

    assert out.splitlines() == [f"sklearn_mlarch {__version__}", "0 False"]


def test_bench_without_names_lists_and_runs_nothing(monkeypatch, capsys):
    from sklearn_mlarch import _bench

    def no_run(*args, **kwargs):
        raise AssertionError("bench without names or --all ran benchmarks")

    monkeypatch.setattr(_bench, "run", no_run)
    with pytest.raises(SystemExit) as exit_:
        main(["bench"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    for b in _bench.REGISTRY.values():
        assert re.search(rf"^{b.name} +\d+ (h|min)", captured.err, flags=re.M)
    assert "--all" in captured.err and "bench overhead digits" in captured.err


def test_bench_help_says_names_or_all(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "named or --all" in text and "without NAME or --all nothing runs" in text


def test_demo_section_names_match_the_command_line():
    from sklearn_mlarch import __main__ as cli
    from sklearn_mlarch.demo import SECTIONS

    assert cli.SECTIONS == list(SECTIONS)


def test_demo_refuses_an_unwritable_output_before_training(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--output", str(afile), "--quick"])
    assert exit_.value.code == 2
    assert "--output DIR" in capsys.readouterr().err
