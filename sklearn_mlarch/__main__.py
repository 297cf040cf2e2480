"""Command line: ``python -m sklearn_mlarch demo [--quick]``."""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_mlarch")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the estimators on digits beside scikit-learn")
    demo.add_argument("--quick", action="store_true", help="few epochs and folds (smoke test)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        run(quick=args.quick)


if __name__ == "__main__":
    main()
