"""The code of the README and of the user guide runs, page by page, as written.

Each page's Python blocks (```python in Markdown, ``.. code-block:: python``
or ``.. code:: python`` in reST) run in order in one namespace, as a reader
would paste them, in a fresh working folder. A block that needs what a test
cannot have (a cluster's address) is marked in the page, right above it,
with the reST comment ``.. not-run: <the reason>`` (in Markdown,
``<!-- not-run: <the reason> -->``), and is left out; the marker must give
a reason.
"""

import pathlib
import re
import textwrap

import pytest

ROOT = pathlib.Path(__file__).parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "index.rst",
         *sorted((ROOT / "docs" / "user_guide").glob("*.rst"))]

_MD_BLOCK = re.compile(r"(<!-- not-run: (?P<why>[^>]*)-->\s*\n)?```python\n(?P<code>.*?)```",
                       re.S)
_RST_BLOCK = re.compile(r"(\.\. not-run:(?P<why>[^\n]*(?:\n[ \t]+[^\n]*)*)\n\s*\n)?"
                        r"\.\. code(?:-block)?:: python\n"
                        r"(?:[ \t]+:[^\n]*\n)*\n(?P<code>(?:[ \t]+[^\n]*\n|[ \t]*\n)+)")


def python_blocks(path):
    """``(code, reason_not_run)`` of each Python block of a page, in order."""
    text = path.read_text()
    pattern = _MD_BLOCK if path.suffix == ".md" else _RST_BLOCK
    blocks = []
    for m in pattern.finditer(text):
        why = m.group("why")
        if why is not None and not why.strip():
            raise ValueError(f"{path.name}: a not-run marker without a reason")
        blocks.append((textwrap.dedent(m.group("code")), why and why.strip()))
    return blocks


def test_blocks_are_found(tmp_path):
    # the extraction itself: a page of each kind, with and without a marker
    md = "x\n```python\na = 1\n```\n<!-- not-run: needs a cluster -->\n```python\nb\n```\n"
    rst = ("Text::\n\n   literal\n\n.. code-block:: python\n\n   a = 1\n\n   b = a\n\nEnd\n\n"
           ".. not-run: needs a cluster\n\n.. code-block:: python\n\n   Client('x')\n")
    (tmp_path / "probe.md").write_text(md)
    (tmp_path / "probe.rst").write_text(rst)
    assert python_blocks(tmp_path / "probe.md") == [("a = 1\n", None), ("b\n", "needs a cluster")]
    assert python_blocks(tmp_path / "probe.rst") == [("a = 1\n\nb = a\n\n", None),
                                                     ("Client('x')\n", "needs a cluster")]


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_code_runs(page, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # files the snippets write (saved models) land here
    namespace = {"__name__": "__main__"}
    for i, (code, not_run) in enumerate(python_blocks(page)):
        if not_run:
            continue
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{page.name}, Python block {i} fails:\n{code}") from exc
