"""Command line: ``python -m sklearn_mlarch demo``, ``bench`` and ``--version``.

Neither ``--help`` nor ``--version`` imports torch.
"""

import argparse
import sys

from . import __version__

#: the demo's sections (demo.SECTIONS; listed here so that --help imports no torch)
SECTIONS = ["digits", "ensembles", "search", "multitask", "transfer", "meta"]

DEMO = """Train every capability of the package beside a baseline with small budgets
(about 2 minutes on 2 cores), print a table per section, and write report.md
with PNG plots (learning curves, Hyperband brackets, per-task scores, MAML
adaptation) into the output folder. Sections: digits (CNN and RNN against
SVC and MLPClassifier), ensembles (bagging against a vectorised deep
ensemble), search (HyperbandSearchCV), multitask, transfer (MNIST to
digits) and meta (MAML and FOMAML on sinusoids, prototypical networks on
few-shot characters)."""


def main(argv=None):
    from ._bench import HELP, add_arguments, run_from_args  # no torch import

    parser = argparse.ArgumentParser(
        prog="python -m sklearn_mlarch",
        description="sklearn_mlarch: CNN, RNN, multi-task, meta-learning and ensemble "
                    "networks as scikit-learn estimators.")
    parser.add_argument("--version", action="version", version=f"sklearn_mlarch {__version__}",
                        help="print the version of sklearn_mlarch and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train every capability beside a baseline and write a "
                                       "report (about 2 minutes)", description=DEMO)
    demo.add_argument("--output", default="sklearn_mlarch_demo", metavar="DIR",
                      help="folder for report.md and the plots (default: %(default)s)")
    demo.add_argument("--sections", nargs="+", choices=list(SECTIONS), metavar="NAME",
                      help=f"run only these sections, of: {', '.join(SECTIONS)}")
    demo.add_argument("--no-plots", action="store_true",
                      help="write no PNG plots (plots need matplotlib)")
    demo.add_argument("--quick", action="store_true",
                      help="tiny budgets: a smoke test of about a minute; figures meaningless")
    bench = sub.add_parser("bench", help=HELP, description=HELP)
    add_arguments(bench)
    args = parser.parse_args(argv)
    if args.command == "bench":
        sys.exit(run_from_args(args))
    if args.command == "demo":
        from .demo import check_output_folder, run

        try:
            check_output_folder(args.output)
        except ValueError as exc:
            demo.error(str(exc))
        run(quick=args.quick, output=args.output, sections=args.sections,
            plots=not args.no_plots)


if __name__ == "__main__":
    main()
