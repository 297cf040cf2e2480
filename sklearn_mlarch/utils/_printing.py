"""Progress output that parallel fits cannot garble, and its formatting."""

import math
import multiprocessing
import os
import sys
import threading

_PRINT_LOCK = threading.Lock()


def format_duration(seconds):
    """A short, human duration: tenths of seconds under a minute, then m and s, h and m.

    Examples
    --------
    >>> format_duration(4.26), format_duration(125), format_duration(7380)
    ('4.3s', '2m05s', '2h03m')
    >>> format_duration(float("nan"))
    '?'
    """
    if not math.isfinite(seconds):
        return "?"
    if seconds < 59.95:
        return f"{max(seconds, 0.0):.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def count(n, noun):
    """``n`` and ``noun``, plural unless ``n`` is 1.

    Examples
    --------
    >>> count(1, "candidate"), count(4, "candidate")
    ('1 candidate', '4 candidates')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def emphasise(text):
    """``text`` in bold green where :func:`print_lines` writes to a terminal; else as is.

    Logs, pipes, notebooks' captured output and worker processes get no
    ANSI escape codes: the test is made when the line is printed.
    """
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        terminal = bool(isatty and isatty())
    except ValueError:  # a closed stream
        terminal = False
    return f"\x1b[1;32m{text}\x1b[0m" if terminal else text


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
