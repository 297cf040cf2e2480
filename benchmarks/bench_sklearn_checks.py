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
    python benchmarks/bench_sklearn_checks.py --defaults --jobs 16

``--defaults`` runs the checks on estimators constructed with their
defaults instead (``HyperbandSearchCV``, which needs a search space, on its
fast configuration); each default fit trains about 1,500 steps, so this
takes minutes per estimator (under load, over an hour for CNNClassifier).
``--checks`` runs only the named checks, one row each. ``--jobs N`` runs
the checks in N worker processes of one torch thread each, each check with
a fresh estimator, as ``check_estimator`` gives each its own clone.

It prints the markdown table of benchmarks/RESULTS.md, then the checks that
failed, if any; versions, each check's result and time go to stderr.
"""

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

import sklearn
import skorch
from sklearn.utils import estimator_checks
from sklearn.utils._testing import SkipTest
from sklearn.utils.estimator_checks import _check_name, estimator_checks_generator

from sklearn_mlarch.utils import all_estimators
from sklearn_mlarch.utils._testing import EQUIVALENCE_CHECK, check_configuration, fast_instance


def make(name, defaults):
    """The estimator named ``name``: its defaults or its fast test configuration."""
    cls = dict(all_estimators())[name]
    return cls() if defaults and name != "HyperbandSearchCV" else fast_instance(cls)


def checks_of(name, defaults):
    """``(index, check name)`` of every check ``check_estimator`` runs on it."""
    return [(i, _check_name(check)) for i, (_, check)
            in enumerate(estimator_checks_generator(make(name, defaults), mark=None))]


def run_check(name, defaults, index):
    """``(name, check name, status, seconds, message)`` of one check; a failed
    sample-weight equivalence check is rerun on the configuration
    tests/test_common.py uses."""
    estimator, check = list(estimator_checks_generator(make(name, defaults), mark=None))[index]
    check_name = _check_name(check)
    start, status, message = time.perf_counter(), "passed", ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            try:
                check(estimator)
            except SkipTest:
                raise
            except Exception:
                if check_name != EQUIVALENCE_CHECK:
                    raise
                getattr(estimator_checks, EQUIVALENCE_CHECK)(
                    name, check_configuration(estimator, EQUIVALENCE_CHECK))
        except SkipTest as exc:
            status, message = "skipped", str(exc)[:100]
        except Exception as exc:  # the check's own assertion, reported
            status, message = "failed", f"{type(exc).__name__}: {str(exc)[:200]}"
    return name, check_name, status, time.perf_counter() - start, message


def _one_thread():
    import torch

    torch.set_num_threads(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defaults", nargs="*", metavar="ESTIMATOR",
                        help="check these (all when none is named) with their defaults")
    parser.add_argument("--checks", nargs="+", metavar="CHECK",
                        help="run only these checks (by name, e.g. "
                             "check_class_weight_classifiers), one row each")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes, one torch thread each (default 1: in "
                             "this process, torch's own threads)")
    args = parser.parse_args()
    # stdout is the markdown table of RESULTS.md (python -m sklearn_mlarch bench);
    # versions and each check's result go to stderr
    print(f"scikit-learn {sklearn.__version__}, skorch {skorch.__version__}", file=sys.stderr)
    defaults = args.defaults is not None
    names = [name for name, _ in all_estimators()
             if not args.defaults or name in args.defaults]
    # the estimators with the longest fits first, so that no slow check starts last
    heavy = ["MAMLClassifier", "MAMLRegressor", "DeepEnsembleClassifier",
             "DeepEnsembleRegressor", "RNNClassifier", "RNNRegressor"]
    tasks = [(name, i, check) for name in sorted(names, key=lambda n: n not in heavy)
             for i, check in checks_of(name, defaults)
             if args.checks is None or check in args.checks]
    label = {name: f"{name}() defaults" if defaults else name for name in names}
    results, start = {}, time.perf_counter()

    def record(result):
        name, check, status, seconds, message = result
        results.setdefault(name, []).append(result)
        print(f"{time.perf_counter() - start:7.0f} s  {name} {check}: {status} "
              f"({seconds:.1f} s) {message}", file=sys.stderr, flush=True)

    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"),
                                 initializer=_one_thread) as pool:
            futures = [pool.submit(run_check, name, defaults, i) for name, i, _ in tasks]
            for future in as_completed(futures):
                record(future.result())
    else:
        for name, i, _ in tasks:
            record(run_check(name, defaults, i))

    if args.checks is not None:
        print("| estimator | check | result | seconds |")
        print("|---|---|---|---|")
        for name in names:
            for _, check, status, seconds, message in sorted(results.get(name, []),
                                                               key=lambda r: r[1]):
                result = status if status != "failed" else f"failed: {message[:80]}"
                print(f"| {label[name]} | {check} | {result} | {seconds:.0f} |")
        return
    print("| estimator | checks passed | checks run | skipped |")
    print("|---|---|---|---|")
    failures = []
    for name in names:
        rows = results.get(name, [])
        passed = sum(r[2] == "passed" for r in rows)
        skipped = sum(r[2] == "skipped" for r in rows)
        print(f"| {label[name]} | {passed} | {len(rows) - skipped} | {skipped} |")
        failed = [r[1] for r in rows if r[2] == "failed"]
        if failed:
            failures.append(f"{name}: {', '.join(failed)}")
    if failures:
        print("\nFailed: " + "; ".join(failures) + ".")


if __name__ == "__main__":
    main()
