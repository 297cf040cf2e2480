"""How many of scikit-learn's estimator checks each public estimator passes.

Runs every check that ``sklearn.utils.estimator_checks.check_estimator``
yields on every public estimator of the package (its fast test
configuration) and counts passes. The sample-weight equivalence check runs
on the dedicated configuration explained in
``sklearn_mlarch/utils/_testing.py``, as in tests/test_common.py.

No bare skorch net is compared: a skorch module has fixed input and output
sizes, while the checks use data of many shapes, so most of its failures
would measure the module's sizes, not skorch.

    python benchmarks/bench_sklearn_checks.py
    python benchmarks/bench_sklearn_checks.py --defaults CNNClassifier RNNRegressor
    python benchmarks/bench_sklearn_checks.py --defaults CNNClassifier \
        --checks check_class_weight_classifiers check_classifiers_train

``--defaults`` runs the checks on estimators constructed with their
defaults instead (``HyperbandSearchCV``, which needs a search space, on its
fast configuration); each default fit trains about 1,500 steps, so this
takes minutes per estimator (under load, over an hour for CNNClassifier).
``--checks`` runs only the named checks, one row each.

It prints the markdown table of benchmarks/RESULTS.md, then the checks that
failed, if any; versions and times go to stderr.
"""

import argparse
import sys
import time
import warnings

import sklearn
import skorch
from sklearn.base import clone
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import check_estimator

from sklearn_mlarch.utils import all_estimators
from sklearn_mlarch.utils._testing import EQUIVALENCE_CHECK, check_configuration, fast_instance


def count(estimator):
    """Checks passed, run and skipped; a failed sample-weight equivalence check
    is rerun on the configuration tests/test_common.py uses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
        passed = 0
        for r in results:
            if r["status"] == "failed" and r["check_name"] == EQUIVALENCE_CHECK:
                check = getattr(estimator_checks, EQUIVALENCE_CHECK)
                check(type(estimator).__name__, check_configuration(estimator,
                                                                    EQUIVALENCE_CHECK))
                passed += 1  # it raised otherwise
            else:
                passed += r["status"] == "passed"
    skipped = sum(r["status"] == "skipped" for r in results)
    failed = [r["check_name"] for r in results
              if r["status"] == "failed" and r["check_name"] != EQUIVALENCE_CHECK]
    return passed, len(results) - skipped, skipped, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defaults", nargs="*", metavar="ESTIMATOR",
                        help="check these (all when none is named) with their defaults")
    parser.add_argument("--checks", nargs="+", metavar="CHECK",
                        help="run only these checks (by name, e.g. "
                             "check_class_weight_classifiers), one row each")
    args = parser.parse_args()
    # stdout is the markdown table of RESULTS.md (python -m sklearn_mlarch bench);
    # versions and each estimator's time go to stderr
    print(f"scikit-learn {sklearn.__version__}, skorch {skorch.__version__}", file=sys.stderr)
    if args.checks is None:
        print("| estimator | checks passed | checks run | skipped |")
        print("|---|---|---|---|")
    else:
        print("| estimator | check | result | seconds |")
        print("|---|---|---|---|")
    if args.defaults is None:
        rows = [(name, fast_instance(cls)) for name, cls in all_estimators()]
    else:
        rows = [(f"{name}() defaults", fast_instance(cls) if name == "HyperbandSearchCV"
                 else cls()) for name, cls in all_estimators()
                if not args.defaults or name in args.defaults]
    if args.checks is not None:
        for name, est in rows:
            for check in args.checks:
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        getattr(estimator_checks, check)(type(est).__name__, clone(est))
                        result = "passed"
                    except Exception as exc:  # the check's own assertion, reported
                        result = f"failed: {type(exc).__name__} {str(exc)[:80]}".strip()
                print(f"| {name} | {check} | {result} | {time.perf_counter() - start:.0f} |",
                      flush=True)
        return
    failures = []
    for name, est in rows:
        start = time.perf_counter()
        passed, run, skipped, failed = count(est)
        print(f"| {name} | {passed} | {run} | {skipped} |", flush=True)
        print(f"{name}: {time.perf_counter() - start:.0f} s; failed: "
              f"{', '.join(failed) or 'none'}", file=sys.stderr, flush=True)
        if failed:
            failures.append(f"{name}: {', '.join(failed)}")
    if failures:
        print("\nFailed: " + "; ".join(failures) + ".")


if __name__ == "__main__":
    main()
