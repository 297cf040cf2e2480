"""The demo's report: scores to the decimals their test size supports, tables printed
as they fill, and the report written with its plots (used by :mod:`.demo`)."""

import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np

from .utils._printing import print_lines


def score_decimals(n=None, spread=None):
    """Decimals that a score's uncertainty supports: its first significant digit.

    The uncertainty is the larger of those known: for an accuracy (any
    proportion) on ``n`` test rows, ``0.5 / sqrt(n)``, the largest its
    standard error ``sqrt(p (1 - p) / n)`` can be (at ``p = 0.5``); and
    ``spread``, a standard deviation or 95 % half-width shown beside it.
    An accuracy on 26 to 2,500 rows gets 2 decimals, on more 3.
    """
    known = [u for u in (None if n is None else 0.5 / np.sqrt(n), spread)
             if u is not None and np.isfinite(u) and u > 0]
    if not known:
        raise ValueError("score_decimals needs n (test rows) or a positive spread.")
    return max(0, -int(np.floor(np.log10(max(known)))))


def score_text(score, n=None, spread=None):
    """``score`` (``± spread`` when given) to the decimals :func:`score_decimals` allows.

    The one format of every score in the demo's tables and report.

    >>> score_text(0.9731, n=360), score_text(0.9731, n=10_000)
    ('0.97', '0.973')
    >>> score_text(0.4523, n=15_000, spread=0.0213), score_text(3.14159, spread=0.31)
    ('0.45 ± 0.02', '3.1 ± 0.3')
    """
    d = score_decimals(n, spread)
    return f"{score:.{d}f}" + ("" if spread is None else f" ± {spread:.{d}f}")


@dataclass
class Section:
    title: str
    columns: list
    rows: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)


class Report:
    """Tables printed as they fill, then written with the plots to a folder.

    Parameters
    ----------
    output : str or None
        Folder for ``report.md`` and the PNG plots; None prints only.
    plots : bool
        Draw the plots (needs matplotlib; skipped with a note without it).
    """

    def __init__(self, output=None, plots=True):
        self.output, self.sections, self.timings = output, [], {}
        self.wanted_plots = plots and output is not None
        self.plots = self.wanted_plots and _has_matplotlib()
        if output is not None:
            check_output_folder(output)

    def section(self, title, columns):
        self.sections.append(Section(title, columns))
        header = "  ".join(f"{c:>16}" if i else f"{c:<44}" for i, c in enumerate(columns))
        print_lines(f"\n{title}\n{header}")
        return self.sections[-1]

    def row(self, *cells):
        """Add a row: text and ints; scores formatted by :func:`score_text`."""
        cells = [_cell(c) for c in cells]
        self.sections[-1].rows.append(cells)
        print_lines("  ".join(f"{c:>16}" if i else f"{c:<44}" for i, c in enumerate(cells)))

    def note(self, text):
        self.sections[-1].notes.append(text)
        print_lines(text)

    def figure(self, name, draw):
        """Save the plot ``draw()`` returns (an Axes) as ``name``.png."""
        if not self.plots:
            return
        import matplotlib.pyplot as plt

        ax = draw()
        path = os.path.join(self.output, f"{name}.png")
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=100)
        plt.close(ax.figure)
        self.sections[-1].figures.append(f"{name}.png")

    def write(self, seconds, mode, budget_text):
        """Write ``report.md``; return its path (None without an output folder).

        ``seconds`` is the whole demo's time, stated once; ``budget_text``
        the demo's budgets in words (``mode``: 'quick' or 'default'); ``self.timings``
        (section name -> seconds) fills the table of section times.
        """
        if self.output is None:
            return None
        import sklearn
        import skorch
        import torch

        budgets = ("Budgets: quick mode (`--quick`), a smoke test whose figures mean "
                   "nothing" if mode == "quick" else "Budgets: the demo's, most of them "
                   "smaller than the estimators' defaults")
        lines = ["# sklearn_mlarch demo report", "",
                 f"The demo ran in {seconds:.0f} s on {platform.platform()} with "
                 f"{os.cpu_count()} CPUs; torch {torch.__version__}, scikit-learn "
                 f"{sklearn.__version__}, skorch {skorch.__version__}.", "",
                 f"{budgets}: {budget_text}.", "",
                 "Scores are rounded to the first significant digit of their uncertainty: "
                 "for an accuracy on n test rows, 0.5/√n, the largest its standard error "
                 "√(p(1-p)/n) can be (2 decimals for 26 to 2,500 rows); where a ± is "
                 "shown (a standard deviation or a 95 % interval), that if larger.", "",
                 "| section (`--sections`) | time (s) |", "|---|---|"]
        lines += [f"| {name} | {t:.0f} |" for name, t in self.timings.items()] + [""]
        if self.wanted_plots and not self.plots:
            lines += ["No plots: they need matplotlib (`pip install matplotlib`).", ""]
        for s in self.sections:
            lines += [f"## {s.title}", "", "| " + " | ".join(s.columns) + " |",
                      "|" + "---|" * len(s.columns)]
            lines += ["| " + " | ".join(r) + " |" for r in s.rows]
            lines += [""] + s.notes + [""] * bool(s.notes)
            lines += [f"![{f}]({f})" for f in s.figures] + [""] * bool(s.figures)
        path = os.path.join(self.output, "report.md")
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return path


def check_output_folder(output):
    """Create ``output`` and check that files can be written there, before any
    training: a report that cannot be saved should fail in a second, not
    after the whole demo."""
    try:
        os.makedirs(output, exist_ok=True)
        probe = os.path.join(output, ".sklearn_mlarch_write_test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise ValueError(f"output={output!r} cannot hold the report: {exc}. Pass a "
                         "writable folder (--output DIR).") from exc


def _has_matplotlib():
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")  # files only: no window, works headless
    return True


def _cell(value):
    if isinstance(value, (float, np.floating)):
        raise TypeError(f"a score cell ({value!r}) must be formatted with score_text, to "
                        "the decimals its test size supports.")
    return str(value)


def _timed(fit):
    start = time.perf_counter()
    out = fit()
    return out, time.perf_counter() - start
