"""Progress output that parallel fits cannot garble."""

import multiprocessing
import os
import sys
import threading

_PRINT_LOCK = threading.Lock()


def print_lines(text):
    r"""Print ``text`` as whole lines in one write: the progress sink.

    Tables from fits running side by side (joblib threads or worker
    processes writing to the same terminal) interleave line by line, never
    inside a line, and a line from a worker process or a thread other than
    the main one starts with its name, so each table can be followed.

    Examples
    --------
    >>> print_lines("epoch  train_loss\n    1      0.5000")
    epoch  train_loss
        1      0.5000
    """
    if sys.stdout is None:  # no console (pythonw, some services): as print does
        return
    lines = str(text).splitlines()
    process, thread = multiprocessing.current_process(), threading.current_thread()
    tag = "" if process.name == "MainProcess" else f"{process.name} pid {os.getpid()}"
    if thread is not threading.main_thread():
        tag = f"{tag} {thread.name}".strip()
    if tag:
        lines = [f"[{tag}] {line}" for line in lines]
    with _PRINT_LOCK:
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
