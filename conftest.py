"""pytest at the repository root: doctests of optional features need their extras,
and the tests' tiny networks train on one torch thread."""

import importlib.util

import torch

# plotting's examples draw with matplotlib, an optional dependency ([plot], [test])
collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["sklearn_mlarch/plotting.py"]

# The suite's networks have a few hundred weights: on two threads torch spends
# more on handing each small operation to the second thread than it gains
# (measured: the composition tests ran 4x faster on one). Training takes its
# thread count from here (sklearn_mlarch.utils._threads.worker_threads); joblib
# workers in the tests still get their own share of the cores.
torch.set_num_threads(1)
