import io
import re
import sys
import threading

import pytest

from sklearn_mlarch._training.progress import epoch_values
from sklearn_mlarch.utils._printing import count, emphasise, format_duration, print_lines


def test_print_lines_from_threads_keeps_each_line_whole_and_tagged(capfd):
    def table(i):
        for epoch in range(50):
            print_lines(f"table {i} epoch {epoch}\ntable {i} loss {epoch / 7:.6f}")

    threads = [threading.Thread(target=table, args=(i,), name=f"fit-{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 4 * 50 * 2
    for line in lines:
        m = re.fullmatch(r"\[fit-(\d)\] table (\d) (epoch \d+|loss \d\.\d{6})", line)
        assert m and m.group(1) == m.group(2), line


def test_print_lines_without_a_console_prints_nothing(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)  # pythonw, some services
    print_lines("epoch 1")  # as print does: no error


def test_lines_from_a_worker_process_name_the_process(capfd):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # no torch in the child: safe to fork
    worker = ctx.Process(target=print_lines, args=("epoch 1\nepoch 2",), name="Worker-7")
    worker.start()
    worker.join(timeout=30)
    lines = capfd.readouterr().out.splitlines()
    tag = f"[Worker-7 pid {worker.pid}]"
    assert lines == [f"{tag} epoch 1", f"{tag} epoch 2"]


@pytest.mark.parametrize("seconds, text", [(0, "0.0s"), (4.26, "4.3s"), (59.96, "1m00s"),
                                           (125, "2m05s"), (3599.6, "1h00m"),
                                           (7380, "2h03m"), (float("inf"), "?")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_count_is_singular_for_one():
    counted = [count(n, "candidate") for n in (0, 1, 2)]
    assert counted == ["0 candidates", "1 candidate", "2 candidates"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_best_values_are_emphasised_on_a_terminal_only(monkeypatch, capsys):
    row = {"epoch": 3, "dur": 0.1, "batches": [], "train_loss": 0.5, "train_loss_best": True,
           "valid_loss": 0.25, "valid_loss_best": False, "valid_acc": 0.875, "lr": 1e-6,
           "train_batch_count": 4, "event_lr": 0.1, "note": "text"}
    plain = ["train loss 0.5000", "valid loss 0.2500", "valid accuracy 0.8750", "lr 1e-06"]
    assert epoch_values(row) == plain  # capsys: not a terminal, no escape codes
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert emphasise("0.5000") == "\x1b[1;32m0.5000\x1b[0m"
    assert epoch_values(row) == ["train loss \x1b[1;32m0.5000\x1b[0m", *plain[1:]]
