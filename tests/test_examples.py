"""Every script in examples/ runs (with --quick) and prints a result."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script):
    out = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    assert "accuracy" in out
