"""Hooks of the examples gallery, named in ``sphinx_gallery_conf`` (docs/conf.py).

sphinx-gallery takes these callables by their import path rather than as
objects, so that Sphinx can pickle (cache) its configuration: a function
defined in conf.py would make Sphinx warn, an error under ``-W``.
"""

import os
import signal
import threading

#: Seconds an example may run in the docs build (``--quick``: each takes
#: seconds to a minute on 2 cores); ``SKLEARN_MLARCH_GALLERY_TIMEOUT``
#: overrides it, 0 turns the limit off.
TIMEOUT = int(os.environ.get("SKLEARN_MLARCH_GALLERY_TIMEOUT", "300"))


def quick_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` of every example: the smoke run, as the test suite does."""
    return ["--quick"]


class ExampleTimeout(Exception):
    """An example ran past ``TIMEOUT`` seconds."""


def _expire(signum, frame):
    raise ExampleTimeout(
        f"the example ran past {TIMEOUT} s with --quick (SKLEARN_MLARCH_GALLERY_TIMEOUT "
        "sets the limit); sphinx-gallery reports it as a failing example, which fails "
        "the build")


def example_timeout(gallery_conf, fname, when):
    """A ``reset_modules`` hook: an alarm set before each example, cleared after it.

    sphinx-gallery 0.22 has no time limit of its own; this one raises
    ``ExampleTimeout`` inside an example that runs too long (SIGALRM, POSIX
    only, in the main thread, where the examples run unless the gallery is
    built in parallel), and sphinx-gallery then fails the build naming it.
    """
    if (TIMEOUT <= 0 or fname is None or not hasattr(signal, "SIGALRM")
            or threading.current_thread() is not threading.main_thread()):
        return
    if when == "before":
        signal.signal(signal.SIGALRM, _expire)
        signal.alarm(TIMEOUT)
    else:
        signal.alarm(0)
