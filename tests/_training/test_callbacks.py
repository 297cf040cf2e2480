import re
import sys

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from sklearn_mlarch import CNNClassifier, FeedForwardRegressor
from sklearn_mlarch._training import ArrayDataset
from sklearn_mlarch._training.norms import resume_running_averages
from sklearn_mlarch.datasets import load_digits_images

# epoch k/n, the time elapsed, an estimate of the time left, then named values
LINE = (r"epoch (\d+)/(\d+)(?: \((\d+) in all\))?  elapsed \d+\.\ds  eta \d+\.\ds  "
        r"train loss \d+\.\d{4}")


def _cnn(**params):
    return CNNClassifier(input_shape=(1, 8, 8), channels=(4,), hidden_sizes=(), max_epochs=2,
                         random_state=0, **params)


def test_epoch_lines_follow_verbose_at_run_time(capsys):
    X, y = load_digits_images(flat=True)
    cnn = _cnn(verbose=1).fit(X[:100], y[:100])
    lines = capsys.readouterr().out.splitlines()
    assert [re.match(LINE, line).groups()[:2] for line in lines] == [("1", "2"), ("2", "2")]
    assert lines[-1].split("  ")[2] == "eta 0.0s"
    cnn.set_params(verbose=0, warm_start=True).fit(X[:100], y[:100])
    assert capsys.readouterr().out == ""
    cnn.set_params(verbose=True, max_epochs=1).fit(X[:100], y[:100])  # a warm start goes on
    assert re.match(LINE, capsys.readouterr().out).groups() == ("1", "1", "5")


def test_verbose_names_the_validation_score_without_escape_codes(capsys, digits):
    X, y = digits
    cnn = _cnn(verbose=1, early_stopping=True, validation_fraction=0.2).fit(X[:150], y[:150])
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # capsys is not a terminal: no colour codes
    lines = out.splitlines()
    assert len(lines) == 2
    for line, row in zip(lines, cnn.history_):
        assert re.fullmatch(LINE + r"  valid loss \d\.\d{4}  valid accuracy (\d\.\d{4})", line)
        assert line.endswith(f"valid accuracy {row['valid_acc']:.4f}")


def test_validation_score_is_accuracy_or_r2_of_the_held_out_rows(capsys):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3).astype("float32")
    Y = np.c_[X @ [1.0, 2.0, 3.0], X[:, 0] ** 2]
    reg = FeedForwardRegressor(hidden_sizes=(8,), max_epochs=5, lr=0.01, early_stopping=True,
                               n_iter_no_change=50, random_state=0, verbose=1).fit(X, Y)
    assert re.search(r"valid R² -?\d+\.\d{4}$", capsys.readouterr().out.splitlines()[-1])
    _, valid = reg.net_.train_split(ArrayDataset(X, Y))
    rows = [int(np.flatnonzero((X == row).all(1))[0]) for row in valid.X.numpy()]
    assert reg.history_[-1, "valid_r2"] == pytest.approx(r2_score(Y[rows], reg.predict(X[rows])),
                                                         abs=1e-6)
    X, y = load_digits_images(flat=True)
    cnn = _cnn(early_stopping=True, n_iter_no_change=50).fit(X[:150], y[:150])
    _, valid = cnn.net_.train_split(ArrayDataset(X[:150].astype("float32"), y[:150]))
    rows = [int(np.flatnonzero((X[:150] == row).all(1))[0]) for row in valid.X.numpy()]
    # the epochs were scored with batch norm's running averages (a fit ends
    # with statistics computed anew for its final weights, _training/norms.py)
    resume_running_averages(cnn.net_)
    assert cnn.history_[-1, "valid_acc"] == pytest.approx(
        accuracy_score(y[rows], cnn.predict(X[rows])))


def test_verbose_bar_draws_a_tqdm_bar(capsys, digits):
    pytest.importorskip("tqdm")
    X, y = digits
    _cnn(verbose="bar", early_stopping=True).fit(X[:100], y[:100])
    captured = capsys.readouterr()
    assert captured.out == ""  # the bar replaces the lines
    assert re.search(r"2/2 \[.*epoch.*train loss \d\.\d{4}, valid loss .*valid accuracy",
                     captured.err.rsplit("\r", 1)[-1])


def test_a_failed_fit_closes_its_bar(digits):
    tqdm = pytest.importorskip("tqdm")
    from skorch.callbacks import Callback

    class Fails(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("a failing callback")

    X, y = digits
    before = len(getattr(tqdm.tqdm, "_instances", ()))
    with pytest.raises(RuntimeError, match="a failing callback"):
        _cnn(verbose="bar", callbacks=[Fails()]).fit(X[:100], y[:100])
    assert len(getattr(tqdm.tqdm, "_instances", ())) == before  # no bar left open


def test_verbose_bar_without_tqdm_says_how_to_install_it(monkeypatch, digits):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y = digits
    cnn = _cnn(verbose="bar")
    with pytest.raises(ImportError, match="pip install tqdm"):
        cnn.fit(X[:100], y[:100])
    assert not hasattr(cnn, "net_")


def test_bad_verbose_names_the_accepted_values(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"'verbose' parameter of CNNClassifier must be an int"
                                         r".* a str among \{'bar'\}. Got 'lines'"):
        _cnn(verbose="lines").fit(X[:100], y[:100])
