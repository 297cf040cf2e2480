"""pytest at the repository root: doctests of optional features need their extras."""

import importlib.util

# plotting's examples draw with matplotlib, an optional dependency ([plot], [test])
collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["sklearn_mlarch/plotting.py"]
