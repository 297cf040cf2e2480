"""``python -m sklearn_mlarch bench``: rerun the benchmark scripts, regenerate RESULTS.md.

benchmarks/RESULTS.md is hand-written prose around generated blocks::

    <!-- bench:overhead -->
    _Measured 2026-11-27 on Linux x86_64, AMD EPYC, 2 CPUs; Python 3.11.7, ..._

    | | median time (s) |
    ...

    <!-- /bench:overhead -->

Each block holds what one registered command prints on stdout (its
markdown tables), under a line stating the date and the machine. ``bench``
runs the selected commands one after another (never in parallel: the
timings would disturb each other), replaces each block whose script
succeeded and leaves the prose alone; a script that fails keeps its old
block and makes the exit status non-zero. The scripts live in the source
checkout only, next to the package (``<checkout>/benchmarks``).

Nothing here imports torch unless a selected benchmark needs CUDA.
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HELP", "REGISTRY", "Benchmark", "BenchError", "add_arguments", "machine_line",
           "main", "read_blocks", "replace_block", "run", "run_from_args"]

HELP = ("rerun benchmark scripts, named or --all, and regenerate their tables in "
        "benchmarks/RESULTS.md (--list shows them and how long each takes)")
_PACKAGE_PARENT = Path(__file__).resolve().parent.parent
_OPEN = re.compile(r"<!-- bench:([a-z0-9-]+) -->")
_CLOSE = re.compile(r"<!-- /bench:([a-z0-9-]+) -->")


class BenchError(ValueError):
    """An unknown benchmark name, or no usable benchmarks folder, RESULTS.md or markers."""


@dataclass(frozen=True)
class Benchmark:
    """One generated block of RESULTS.md and the command that prints it.

    Parameters
    ----------
    name : str
        The block's name: ``<!-- bench:NAME -->``.
    command : str
        The command line, as RESULTS.md states it: ``python benchmarks/<script> ...``,
        run from the checkout's root.
    minutes : float
        Rough duration on the 2-core machine of RESULTS.md, run alone.
    requires : tuple of str, default=()
        Modules it imports beyond the package's dependencies, and ``"cuda"``
        where it needs a CUDA device; without them it is skipped.
    """

    name: str
    command: str
    minutes: float
    requires: tuple = ()

    def argv(self, benchmarks):
        """The command with this interpreter and the script in ``benchmarks``."""
        _, script, *args = shlex.split(self.command)
        return [sys.executable, str(Path(benchmarks) / Path(script).name), *args]

    def unavailable(self):
        """Why it cannot run here, or None."""
        missing = [m for m in self.requires
                   if m != "cuda" and importlib.util.find_spec(m) is None]
        if missing:
            return f"needs {', '.join(missing)} (pip install {' '.join(missing)})"
        if "cuda" in self.requires:
            import torch

            if not torch.cuda.is_available():
                return "needs a CUDA device (torch.cuda.is_available() is False)"
        return None


# One entry per generated block, in the order of RESULTS.md. The commands are
# those of its section headings; minutes are rough, on 2 cores, run alone.
REGISTRY = {b.name: b for b in [
    Benchmark("checks", "python benchmarks/bench_sklearn_checks.py", 4),
    Benchmark("checks-defaults", "python benchmarks/bench_sklearn_checks.py --defaults "
              "--jobs 2", 35),
    Benchmark("overhead", "python benchmarks/bench_overhead.py --repeats 16 --epochs 10", 2),
    Benchmark("digits", "python benchmarks/bench_digits_accuracy.py", 3),
    Benchmark("timeseries", "python benchmarks/bench_timeseries.py --variable-length list "
              "list-z --dataset-seeds ArrowHead=0,1,2 --rnn-max-length 200", 45,
              ("sktime", "numba")),
    Benchmark("ensembles", "python benchmarks/bench_ensembles.py", 2),
    Benchmark("search", "python benchmarks/bench_search.py", 3),
    Benchmark("search-seeds", "python benchmarks/bench_search.py --seeds 5", 30),
    Benchmark("scaleout", "python benchmarks/bench_scaleout.py", 8, ("distributed",)),
    Benchmark("multitask", "python benchmarks/bench_multitask.py", 8),
    Benchmark("transfer", "python benchmarks/bench_transfer.py", 3, ("mlxtend",)),
    Benchmark("gpu", "python benchmarks/bench_gpu.py --epochs 3 10 --repeats 5", 3, ("cuda",)),
    Benchmark("maml-sinusoid", "python benchmarks/bench_maml.py sinusoid --threads 1", 9),
    Benchmark("maml-timing", "python benchmarks/bench_maml.py timing --repeats 4 6 8", 4),
    Benchmark("maml-digits", "python benchmarks/bench_maml.py digits --threads 1", 15),
    Benchmark("fewshot", "python benchmarks/bench_fewshot.py --maml-minutes 12 "
              "--fomaml-minutes 6 --proto-minutes 4 --pretrain-epochs 3", 45),
    Benchmark("data-memmap", "python benchmarks/bench_data.py memmap --rows 4200000 "
              "--slice-rows 200000", 22),
    Benchmark("data-folder", "python benchmarks/bench_data.py folder --images 3000", 2),
    Benchmark("data-augment", "python benchmarks/bench_data.py augment --seeds 3", 12),
    Benchmark("timeseries-minirocket", "python benchmarks/bench_timeseries.py --datasets "
              "ArrowHead OSULeaf ACSF1 BasicMotions JapaneseVowels PLAID --models minirocket "
              "--seeds 0 1 2", 2, ("sktime", "numba")),
    Benchmark("tser", "python benchmarks/bench_timeseries.py --datasets Tecator Covid3Month "
              "--models minirocket cnn cnn-series cnn-series+scale resnet --seeds 0 1 2", 45,
              ("sktime", "numba")),
    Benchmark("timeseries-neural", "python benchmarks/bench_timeseries.py --datasets "
              "BasicMotions JapaneseVowels ArrowHead --models minirocket cnn cnn-series resnet "
              "inception inceptiontime --seeds 0 1 2", 300, ("sktime", "numba")),
    Benchmark("select-series-defaults", "python benchmarks/select_series_defaults.py "
              "--datasets JapaneseVowels ArrowHead --candidates fcn fcn-series "
              "fcn-series+scale resnet", 60, ("sktime", "numba")),
    Benchmark("timeseries-batchnorm", "python benchmarks/bench_timeseries.py --datasets "
              "ArrowHead OSULeaf ACSF1 BasicMotions JapaneseVowels PLAID --models minirocket "
              "cnn --variable-length list list-z --dataset-seeds PLAID=0 --seeds 0 1 2", 90,
              ("sktime", "numba")),
    Benchmark("timeseries-resnet-osuleaf", "python benchmarks/bench_timeseries.py --datasets "
              "OSULeaf --models minirocket resnet --seeds 0 1 2", 45, ("sktime", "numba")),
    Benchmark("tser-batchnorm", "python benchmarks/bench_timeseries.py --datasets Tecator "
              "Covid3Month --models minirocket cnn cnn-series cnn-series+scale --seeds 0 1 2",
              15, ("sktime", "numba")),
]}


# ----------------------------------------------------------------- blocks
def read_blocks(text):
    """``{name: body}`` of the generated blocks of ``text``, in order.

    Raises BenchError on a marker without its partner, nested blocks or a
    name used twice.

    >>> read_blocks("prose\\n<!-- bench:a -->\\n| x |\\n<!-- /bench:a -->\\nmore")
    {'a': '\\n| x |\\n'}
    """
    blocks, current, start = {}, None, 0
    for match in re.finditer(f"{_OPEN.pattern}|{_CLOSE.pattern}", text):
        opening, closing = match.group(1), match.group(2)
        if opening is not None:
            if current is not None:
                raise BenchError(f"<!-- bench:{opening} --> opens inside the block "
                                 f"{current!r}: close it first with <!-- /bench:{current} -->")
            if opening in blocks:
                raise BenchError(f"two blocks are named {opening!r}; rename one")
            current, start = opening, match.end()
        else:
            if closing != current:
                raise BenchError(f"<!-- /bench:{closing} --> closes no open block "
                                 f"(open: {current!r})")
            blocks[current] = text[start:match.start()]
            current = None
    if current is not None:
        raise BenchError(f"<!-- bench:{current} --> is never closed: add "
                         f"<!-- /bench:{current} --> after its table")
    return blocks


def replace_block(text, name, body):
    """``text`` with the block ``name`` holding ``body`` and nothing else changed.

    The body sits between a newline and a blank line, whatever its own
    leading and trailing newlines, so replacing is idempotent.

    >>> replace_block("a\\n<!-- bench:t -->\\nold\\n<!-- /bench:t -->\\nb", "t", "new")
    'a\\n<!-- bench:t -->\\nnew\\n\\n<!-- /bench:t -->\\nb'
    """
    if name not in read_blocks(text):
        raise BenchError(f"no block {name!r}: put its table between <!-- bench:{name} --> and "
                         f"<!-- /bench:{name} -->")
    opening = f"<!-- bench:{name} -->"
    start = text.index(opening) + len(opening)
    end = text.index(f"<!-- /bench:{name} -->", start)
    body = body.strip("\n")
    return f"{text[:start]}\n{body}\n\n{text[end:]}"


def render(machine, stdout):
    """A block's body: the machine line, then the script's output."""
    return f"{machine}\n\n{stdout.strip()}"


# ---------------------------------------------------------------- machine
def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use
    except AttributeError:
        return os.cpu_count()


def machine_line(cuda=False, today=None):
    """The line that opens a regenerated block: date, machine and versions."""
    where = [f"{platform.system()} {platform.machine()}", _cpu_name(), f"{_cpu_count()} CPUs"]
    if cuda:
        import torch

        where.append(torch.cuda.get_device_name())
    versions = ", ".join(f"{dist} {_version(dist)}"
                         for dist in ("torch", "scikit-learn", "skorch", "numpy"))
    today = today or datetime.date.today().isoformat()
    return (f"_Measured {today} on {', '.join(where)}; Python {platform.python_version()}, "
            f"{versions}._")


# -------------------------------------------------------------------- run
def find_benchmarks(path=None):
    """The benchmarks folder: ``path``, or the one beside the package."""
    folder = Path(path) if path is not None else _PACKAGE_PARENT / "benchmarks"
    if not folder.is_dir():
        if path is not None:
            raise BenchError(f"--benchmarks {path}: no such folder")
        raise BenchError(f"no benchmarks folder at {folder}: the benchmark scripts ship with "
                         "the source, not the installed package; run from a source checkout "
                         "(git clone, then pip install -e .), or pass --benchmarks DIR")
    return folder


def _select(names):
    if not names:
        return list(REGISTRY.values())
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise BenchError(f"unknown benchmark {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(REGISTRY)} (see --list)")
    return [REGISTRY[n] for n in dict.fromkeys(names)]


def _duration(minutes):
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _execute(argv, cwd, out):
    """Run ``argv``, echo its stdout to ``out`` line by line, return (status, stdout)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # the scripts benchmark this package, not another install of it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_PARENT),
                                                      env.get("PYTHONPATH")]))
    lines = []
    with subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True,
                          encoding="utf-8") as proc:
        for line in proc.stdout:
            lines.append(line)
            out.write(line)
            out.flush()
    return proc.returncode, "".join(lines)


def _write(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # never a half-written RESULTS.md


def list_benchmarks(out=None):
    """Print each benchmark's name, rough duration, needs and command."""
    out = out or sys.stdout
    width = max(map(len, REGISTRY))
    for b in REGISTRY.values():
        needs = ", ".join("a CUDA device" if r == "cuda" else r for r in b.requires)
        needs = f"  (needs {needs})" if needs else ""
        out.write(f"{b.name:<{width}}  {_duration(b.minutes):>10}  {b.command}{needs}\n")
    total = sum(b.minutes for b in REGISTRY.values())
    out.write(f"{'total':<{width}}  {_duration(total):>10}  one after another, on 2 cores\n")


def run(names=None, results=None, dry_run=False, benchmarks=None, out=None):
    """Run the benchmarks ``names`` (all when None) and regenerate their blocks.

    Parameters
    ----------
    names : list of str, default=None
        Registry names (``REGISTRY``); None runs them all, in order.
    results : path, default=None
        The markdown file to update; by default ``RESULTS.md`` in the
        benchmarks folder.
    dry_run : bool, default=False
        Print the commands without running them.
    benchmarks : path, default=None
        The folder of the scripts; by default the source checkout's
        ``benchmarks/``, beside the package.
    out : file, default=None
        Where progress and the scripts' output go; ``sys.stdout`` by default.

    Returns
    -------
    status : int
        0 when every selected benchmark that could run succeeded, 1 when
        one failed (its block kept as it was).
    """
    out = out or sys.stdout
    selected = _select(names)
    folder = find_benchmarks(benchmarks)
    results = Path(results) if results is not None else folder / "RESULTS.md"
    if not results.is_file():
        raise BenchError(f"--results {results}: no such file")
    missing = [b.name for b in selected if b.name not in read_blocks(results.read_text("utf-8"))]
    if missing:  # found before hours of running, not after
        raise BenchError(f"{results} has no block for {', '.join(missing)}: put each table "
                         "between <!-- bench:NAME --> and <!-- /bench:NAME -->")
    root = folder.parent
    if dry_run:
        out.write(f"would run in {root}, one after another, updating {results}:\n")
        for b in selected:
            out.write(f"{b.name}: {b.command}  (about {_duration(b.minutes)})\n")
        return 0
    failed, skipped = [], []
    for b in selected:
        reason = b.unavailable()
        if reason:
            out.write(f"== {b.name}: skipped, {reason}; its block is kept\n")
            skipped.append(b.name)
            continue
        out.write(f"== {b.name}: {b.command}  (about {_duration(b.minutes)} on 2 cores)\n")
        out.flush()
        start = time.perf_counter()
        machine = machine_line(cuda="cuda" in b.requires)
        status, stdout = _execute(b.argv(folder), root, out)
        seconds = time.perf_counter() - start
        elapsed = f"{seconds:.0f} s" if seconds < 60 else _duration(seconds / 60)
        if status != 0:
            failed.append(f"{b.name} (exit status {status})")
        elif not re.search(r"^\|", stdout, re.MULTILINE):
            failed.append(f"{b.name} (printed no markdown table)")
        else:
            text = replace_block(results.read_text("utf-8"), b.name, render(machine, stdout))
            _write(results, text)
            out.write(f"== {b.name}: block regenerated in {results} ({elapsed})\n")
            continue
        out.write(f"== {b.name}: FAILED after {elapsed}; its block is kept\n")
    done = len(selected) - len(failed) - len(skipped)
    out.write(f"\n{done} regenerated, {len(skipped)} skipped"
              + (f" ({', '.join(skipped)})" if skipped else "")
              + f", {len(failed)} failed" + (f": {', '.join(failed)}" if failed else "") + "\n")
    return 1 if failed else 0


# -------------------------------------------------------------------- CLI
def add_arguments(parser):
    """Add ``bench``'s options to an argparse parser (or subparser)."""
    total = _duration(sum(b.minutes for b in REGISTRY.values()))
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="the benchmarks to run, one after another (names from --list)")
    parser.add_argument("--all", action="store_true",
                        help=f"run every benchmark, one after another (about {total} on 2 "
                             "cores); without NAME or --all nothing runs")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="the same as naming the benchmarks (kept for old scripts)")
    parser.add_argument("--list", action="store_true",
                        help="list the benchmarks with their commands and rough durations")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the commands without running them (every benchmark's "
                             "when none is named)")
    parser.add_argument("--results", metavar="PATH",
                        help="the markdown file to update (default: benchmarks/RESULTS.md)")
    parser.add_argument("--benchmarks", metavar="DIR",
                        help="the folder of the scripts (default: the source checkout's "
                             "benchmarks/)")
    return parser


def _refuse_to_guess(out):
    """``bench`` with nothing selected: what it could run, and how to ask; status 2."""
    out.write("bench: nothing selected. Running every benchmark rewrites "
              "benchmarks/RESULTS.md for hours; the benchmarks are:\n\n")
    list_benchmarks(out)
    out.write("\nName those to run (python -m sklearn_mlarch bench overhead digits) or pass "
              "--all to run them all, one after another; --dry-run prints the commands.\n")
    return 2


def run_from_args(args):
    """Run ``bench`` from parsed arguments; returns the exit status.

    Nothing runs unless benchmarks are named or ``--all`` is passed: with
    neither, the benchmarks are listed and the status is 2.
    """
    if args.list:
        list_benchmarks()
        return 0
    names = [*args.names, *(args.only or [])]
    if args.all and names:
        print(f"bench: error: --all runs every benchmark; pass it or names "
              f"({' '.join(names)}), not both", file=sys.stderr)
        return 2
    if not (names or args.all or args.dry_run):
        return _refuse_to_guess(sys.stderr)
    try:
        return run(names or None, results=args.results, dry_run=args.dry_run,
                   benchmarks=args.benchmarks)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2


def main(argv=None):
    """``python -m sklearn_mlarch._bench [options]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sklearn_mlarch bench", description=HELP)
    return run_from_args(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
