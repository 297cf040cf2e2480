import re
import sys
import threading

from sklearn_mlarch.utils._printing import print_lines


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
