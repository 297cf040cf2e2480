"""How many of scikit-learn's estimator checks pass: a bare skorch net and ours.

Runs every check that ``sklearn.utils.estimator_checks.check_estimator``
yields, on skorch's NeuralNetClassifier (a small MLP module, as a skorch user
would write it) and on every public estimator of the package (its fast test
configuration), and counts passes. For the package, the sample-weight
equivalence check runs on the dedicated configuration explained in
``sklearn_mlarch/utils/_testing.py``, as in tests/test_common.py.

    python benchmarks/bench_sklearn_checks.py
"""

import warnings

import sklearn
import skorch
import torch
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import check_estimator

from sklearn_mlarch.utils import all_estimators
from sklearn_mlarch.utils._testing import EQUIVALENCE_CHECK, check_configuration, fast_instance


class MLP(torch.nn.Module):
    def __init__(self, n_in=4, n_out=3):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(),
                                       torch.nn.Linear(16, n_out))

    def forward(self, X):
        return self.net(X)


def count(estimator, dedicated):
    """Checks passed, run and skipped; with ``dedicated``, a failed sample-weight
    equivalence check is rerun on the configuration tests/test_common.py uses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
        passed = 0
        for r in results:
            if r["status"] == "failed" and dedicated and r["check_name"] == EQUIVALENCE_CHECK:
                check = getattr(estimator_checks, EQUIVALENCE_CHECK)
                check(type(estimator).__name__, check_configuration(estimator,
                                                                    EQUIVALENCE_CHECK))
                passed += 1  # it raised otherwise
            else:
                passed += r["status"] == "passed"
    skipped = sum(r["status"] == "skipped" for r in results)
    return passed, len(results) - skipped, skipped


def main():
    print(f"scikit-learn {sklearn.__version__}, skorch {skorch.__version__}\n")
    print("| estimator | checks passed | checks run | skipped |")
    print("|---|---|---|---|")
    bare = skorch.NeuralNetClassifier(MLP, max_epochs=5, lr=0.1, verbose=0,
                                      train_split=None)
    rows = [("skorch.NeuralNetClassifier (MLP module)", bare)]
    rows += [(name, fast_instance(cls)) for name, cls in all_estimators()]
    for name, est in rows:
        passed, run, skipped = count(est, dedicated=name != rows[0][0])
        print(f"| {name} | {passed} | {run} | {skipped} |", flush=True)


if __name__ == "__main__":
    main()
