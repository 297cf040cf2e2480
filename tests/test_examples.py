"""Every script in examples/ runs with --quick, prints the results it promises
and draws at least one figure (the documentation's gallery shows them).

Each example runs in a process of its own, but the processes are forked from
one child interpreter (``python tests/test_examples.py``) that has imported
torch, scikit-learn and the package once: starting a fresh interpreter costs
about 10 s of imports on 2 cores, more than most smoke runs themselves, and
the suite's time is limited. Two examples run at a time, one torch thread
each, with a time limit per example. matplotlib draws with Agg: no window
opens, and a smoke run never shows its figures.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

EXAMPLES_DIR = pathlib.Path(__file__).parents[1] / "examples"
EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.glob("*.py"))
# seconds per example: each takes a few on 2 idle cores (the few-shot characters
# example about 15), and up to 4 times as long on a machine shared with other jobs
TIMEOUT = 120
NUM = r"(-?\d+\.\d+)"


# ------------------------------------------------------------------ runner
def _run_examples(names, timeout=TIMEOUT, parallel=2):
    """Run ``examples/<name> --quick`` in forked processes; return their outputs.

    Called in a child interpreter (see ``__main__`` below), never in pytest's.
    """
    import runpy
    import tempfile
    import traceback

    # what the examples import, loaded once before forking (torch._dynamo is
    # imported by torch's optimizers on first use, a few seconds on its own)
    import matplotlib.pyplot as plt
    import torch._dynamo  # noqa: F401
    import sklearn_mlarch.ensemble  # noqa: F401
    import sklearn_mlarch.meta_learning  # noqa: F401
    import sklearn_mlarch.model_selection  # noqa: F401
    import sklearn_mlarch.neural_network  # noqa: F401

    def start(name):
        out = tempfile.TemporaryFile()
        pid = os.fork()
        if pid == 0:  # the example's own process
            code = 1
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                sys.argv = [str(EXAMPLES_DIR / name), "--quick"]
                runpy.run_path(sys.argv[0], run_name="__main__")
                print(f"\n[test_examples] figures drawn: {len(plt.get_fignums())}")
                code = 0
            except SystemExit as exc:  # sys.exit() in the example
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        return pid, out, time.monotonic()

    pending, running, results = list(names), {}, {}
    while pending or running:
        while pending and len(running) < parallel:
            name = pending.pop(0)
            running[name] = start(name)
        time.sleep(0.05)
        for name, (pid, out, started) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            seconds = time.monotonic() - started
            if not done and seconds < timeout:
                continue
            if not done:  # over time: stop it
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            out.seek(0)
            results[name] = {"returncode": os.waitstatus_to_exitcode(status) if done else None,
                             "output": out.read().decode(errors="replace"),
                             "seconds": round(seconds, 1)}
            del running[name]
    return results


@pytest.fixture(scope="module")
def outputs():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore",
           "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, __file__, *EXAMPLES], capture_output=True,
                          text=True, env=env, timeout=TIMEOUT * len(EXAMPLES))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------- expectations
def _values(pattern, out):
    """The numbers captured by the first line that matches ``pattern``."""
    match = re.search(pattern, out, re.MULTILINE)
    assert match is not None, f"no line matches {pattern!r} in the output:\n{out}"
    return [float(g) for g in match.groups()]


def _accuracy(label, out):
    """The test accuracy printed after ``label``, checked to be in [0, 1]."""
    words = r"\s+".join(map(re.escape, label.split()))
    (acc,) = _values(rf"^{words}\s+test accuracy {NUM}", out)
    assert 0 <= acc <= 1, f"{label}: accuracy {acc} outside [0, 1]"
    return acc


def check_cnn_images_pipeline(out):
    assert _accuracy("CNNClassifier", out) > 0.3  # chance is 0.1
    assert _accuracy("SVC", out) > 0.9


def check_cnn_signals(out):
    assert _values(r"^signals: (\d+) of shape \(1, (\d+)\)", out) == [90, 64]
    fcn = _accuracy("CNNClassifier (FCN)", out)
    _accuracy("KNeighborsClassifier", out)
    # the burst is anywhere in the signal: a linear model on raw steps is lost
    assert fcn > _accuracy("LogisticRegression", out) + 0.2


def check_rnn_variable_length_sequences(out):
    assert _values(r"^(\d+) sequences of (\d+) to (\d+) steps", out) == [120, 15, 30]
    _accuracy("RNNClassifier", out)
    assert re.search(r"^same prediction alone and in a batch: True$", out, re.MULTILINE)
    _accuracy("CNNClassifier", out)


def check_multitask_digits(out):
    for model in ("MultiTaskClassifier", "CNNClassifier"):
        for task in ("digit", "odd", ">= 5"):
            _accuracy(f"{model}  task {task}", out)


def check_transfer_mnist_to_digits(out):
    for label in ("MNIST model, no digits training", "from scratch",
                  "fine-tuned (init_from)", "frozen trunk (freeze='trunk')"):
        _accuracy(label, out)


def check_sklearn_ensembles(out):
    for label in ("CNNClassifier", "BaggingClassifier(5 CNNs)", "AdaBoostClassifier(5 CNNs)",
                  "StackingClassifier(CNN, RNN)"):
        _accuracy(label, out)


def check_deep_ensemble(out):
    for label in ("CNNClassifier", "BaggingClassifier(5 CNNs)", "DeepEnsembleClassifier(5)"):
        _accuracy(label, out)
    (agree,) = _values(rf"^members agree on {NUM} of the test digits", out)
    assert 0 <= agree <= 1


def check_hyperband_vs_random_search(out):
    results = {}
    for name in ("HyperbandSearchCV", "RandomizedSearchCV"):
        n, epochs, cv, test = _values(
            rf"^{name}\s+(\d+) candidates,\s+(\d+) epochs per fold, best CV accuracy {NUM}, "
            rf"test accuracy {NUM}", out)
        assert 0 <= cv <= 1 and 0 <= test <= 1
        results[name] = n, epochs
    (n_hb, epochs_hb), (n_random, epochs_random) = results.values()
    # more candidates for the same budget
    assert n_hb > n_random, results
    assert abs(epochs_random - epochs_hb) <= 0.5 * epochs_hb, results


def check_maml_sinusoids(out):
    mse = [_values(rf"^MAMLRegressor after\s+{steps} steps: MSE {NUM} ± {NUM}", out)[0]
           for steps in (0, 1, 10)]
    assert mse[0] > mse[1] > mse[2] > 0, f"MSE after 0, 1, 10 steps: {mse}"
    (r2,) = _values(rf"R² on its 10 points after 10 steps: {NUM}", out)
    assert r2 <= 1


def check_few_shot_digits(out):
    for k in (1, 5):
        acc = _values(rf"^MAMLClassifier\s+5-way {k}-shot accuracy after 0/1/10 steps: "
                      rf"{NUM} / {NUM} / {NUM}", out)
        assert all(0 <= a <= 1 for a in acc)
        assert acc[2] > acc[0] + 0.2, f"{k}-shot: no better than chance after 10 steps {acc}"
        (centroid,) = _values(rf"^NearestCentroid\s+5-way {k}-shot accuracy {NUM}", out)
        assert 0 <= centroid <= 1


def check_plot_few_shot_characters(out):
    n_train, c_train, n_test, c_test = _values(
        r"^characters: (\d+) training images of (\d+) classes, (\d+) test images of (\d+) "
        r"classes", out)
    assert c_train > 500 and c_test > 100 and n_train % c_train == n_test % c_test == 0
    for k in (1, 5):
        proto, _ = _values(rf"^PrototypicalClassifier 5-way {k}-shot accuracy {NUM} ± {NUM}",
                           out)
        centroid, _ = _values(rf"^NearestCentroid\s+5-way {k}-shot accuracy {NUM} ± {NUM}", out)
        assert 0 <= proto <= 1 and 0 <= centroid <= 1
        if k == 1:  # meta-learned features beat pixels even after a few seconds of training
            assert proto > centroid + 0.05, f"1-shot: prototypes {proto}, centroid {centroid}"


def check_dask_cluster(out):
    assert _values(r"^Dask cluster: (\d+) workers", out) == [2]
    assert _values(r"^GridSearchCV on Dask: (\d+) candidates", out) == [4]
    cv, test = _values(rf"^GridSearchCV best CV accuracy {NUM}, test accuracy {NUM}", out)
    assert 0 <= cv <= 1 and 0 <= test <= 1


CHECKS = {name[len("check_"):] + ".py": check for name, check in globals().items()
          if name.startswith("check_")}


# ------------------------------------------------------------------- tests
def test_every_example_has_an_expectation():
    assert set(EXAMPLES) == set(CHECKS), "add or remove a check_<example> function"


def test_examples_are_gallery_scripts():
    """sphinx-gallery reads a module docstring that opens with an RST title."""
    for name in EXAMPLES:
        text = (EXAMPLES_DIR / name).read_text()
        lines = text.split('"""', 2)[1].strip("\n").splitlines() if text.startswith('"""') \
            else []
        assert len(lines) >= 3 and set(lines[1]) == {"="} and \
            len(lines[1]) >= len(lines[0]), f"{name}: no RST title in the docstring"
        assert "matplotlib" in text, f"{name}: draws no figure for the gallery"
    assert (EXAMPLES_DIR / "README.txt").read_text().startswith("Examples\n========\n")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the runner forks (Linux, macOS)")
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_output(name, outputs):
    result = outputs[name]
    assert result["returncode"] == 0, (
        f"{name} --quick failed (return code {result['returncode']}, "
        f"{result['seconds']} s):\n{result['output']}")
    CHECKS[name](result["output"])
    (figures,) = _values(r"^\[test_examples\] figures drawn: (\d+)$", result["output"])
    assert figures >= 1, f"{name} drew no figure: the gallery page would have none"


if __name__ == "__main__":
    print(json.dumps(_run_examples(sys.argv[1:])))
