"""Sphinx configuration of the sklearn_mlarch documentation.

Build it locally from the repository root::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

then open ``docs/_build/html/index.html``. ``-W`` turns warnings into errors,
as CI does (``.ci/run``). ``docs/generated/`` (the API pages written by
autosummary), ``docs/auto_examples/`` and ``docs/sg_execution_times.rst`` are
written by the build; delete them with ``docs/_build/`` for a clean build.

The examples gallery runs every script of ``examples/`` with ``--quick``
(their smoke run, the one the test suite checks), so each page shows the
script's printed output and its figures (the Dask and transfer examples
need distributed and mlxtend). A clean build takes about 70 s of CPU time,
45 s of it running the examples (the few-shot characters example about half
of that): 1.5 to 2 minutes on 2 idle cores, 3.5 minutes measured on 2 cores
shared with other jobs (load 8). sphinx-gallery reruns only the
examples changed since the last build. A failing example fails the build, and
so does one running past 5 minutes (``gallery_hooks.py``). To render the
gallery without running anything, add ``-D plot_gallery=0``.

Links to scikit-learn, skorch, PyTorch and NumPy (intersphinx) need their
inventories, and the build must work offline (CI reaches package registries
only): a failed download is a warning, an error under ``-W``. So a project
is linked only when its inventory is at hand: ``docs/_inventories/<name>.inv``
(``sklearn``, ``skorch``, ``torch``, ``numpy``), or downloaded when the
build is run with ``SKLEARN_MLARCH_DOCS_ONLINE=1`` (into
``docs/_build/inventories/``; a project whose download fails is left out
with a note on stderr, never a warning). Without them, such references
render as plain text, as before.
"""

import os
import re
import sys
import time
import urllib.request

# the package is installed in editable mode; this also makes a plain checkout work
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
# gallery_hooks, named by sphinx_gallery_conf below
sys.path.insert(0, os.path.abspath(os.path.dirname(__file__)))

import sklearn_mlarch  # noqa: E402

project = "sklearn_mlarch"
author = "sklearn_mlarch developers"
copyright = f"{time.strftime('%Y')}, {author}"
version = release = sklearn_mlarch.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
# `x` in a docstring is code, as in scikit-learn's documentation
default_role = "literal"
root_doc = "index"

# -- autodoc / autosummary / numpydoc --------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True}
# estimators list their inherited scikit-learn methods (get_params, ...);
# the networks leave torch.nn.Module's out (see _templates/network.rst)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- intersphinx ------------------------------------------------------------
# Only projects whose inventory is at hand (see the docstring): a download
# that fails inside Sphinx is a warning that -W turns into an error.
_INVENTORIES = {
    "sklearn": "https://scikit-learn.org/stable/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "numpy": "https://numpy.org/doc/stable/",
}


def _inventory(name, url):
    """The path of ``name``'s objects.inv, or None when there is none at hand."""
    here = os.path.dirname(os.path.abspath(__file__))
    local = os.path.join(here, "_inventories", f"{name}.inv")
    if os.path.isfile(local):
        return local
    if os.environ.get("SKLEARN_MLARCH_DOCS_ONLINE") != "1":
        return None
    cached = os.path.join(here, "_build", "inventories", f"{name}.inv")
    if not os.path.isfile(cached):
        try:
            with urllib.request.urlopen(url + "objects.inv", timeout=10) as response:
                data = response.read()
        except OSError as exc:
            print(f"conf.py: no intersphinx links to {name}: {url}objects.inv: {exc}",
                  file=sys.stderr)
            return None
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        with open(cached, "wb") as f:
            f.write(data)
    return cached


intersphinx_mapping = {name: (url, path) for name, url in _INVENTORIES.items()
                       if (path := _inventory(name, url)) is not None}

# -- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every script (not only plot_*.py) with --quick: seconds each, the
    # few-shot characters example most of a minute, on 2 cores.
    "plot_gallery": "True",
    "filename_pattern": r"\.py$",
    "reset_argv": "gallery_hooks.quick_argv",
    # a time limit per example (sphinx-gallery has none): an alarm set before
    # each example and cleared after it; matplotlib is reset as by default
    "reset_modules": ("matplotlib", "gallery_hooks.example_timeout"),
    "reset_modules_order": "both",
    # the output shown is what the script prints, no repr of a last expression
    "capture_repr": (),
    # a failing example fails the build, once every example has run
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
    "download_all_examples": False,
    "doc_module": ("sklearn_mlarch",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_mlarch": None},
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_mlarch {version}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = []
html_show_sourcelink = False


# -- references to top-level names ------------------------------------------
# Docstrings write :class:`~sklearn_mlarch.CNNClassifier`; each name is
# documented once, in the module that defines it publicly, so send such
# references there.
def _resolve_top_level(app, env, node, contnode):
    target = node.get("reftarget", "")
    module, _, name = target.rpartition(".")
    if node.get("refdomain") != "py" or module != "sklearn_mlarch":
        return None
    home = sklearn_mlarch._LAZY.get(name)
    if home is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node.get("refdoc"), app.builder, node["reftype"],
                               f"{home}.{name}", node, contnode)


# Methods inherited from scikit-learn (get_params, score, set_fit_request...)
# keep scikit-learn's docstrings, whose :ref: and :term: targets live in
# scikit-learn's own documentation; without its inventory they render as
# text (with it, intersphinx resolves them first).
def _from_sklearn(source):
    """Whether a docstring location names an object written in scikit-learn."""
    _, found, dotted = (source or "").partition("docstring of ")
    if not found:
        return False
    if dotted.startswith("sklearn."):
        return True
    # members inherited by the package's classes are named after the class
    module, _, attr = dotted.rpartition(".")
    owner, _, cls = module.rpartition(".")
    try:
        obj = getattr(sys.modules[owner], cls).__dict__.get(attr)
        if obj is None:
            obj = next(c.__dict__[attr] for c in getattr(sys.modules[owner], cls).__mro__
                       if attr in c.__dict__)
    except (KeyError, AttributeError, StopIteration):
        return False
    obj = getattr(obj, "fget", obj)
    return getattr(obj, "__module__", "").startswith("sklearn.")


def _sklearn_text(app, env, node, contnode):
    if node.get("refdomain") == "std" and _from_sklearn(node.source):
        return contnode
    return None


# Shapes such as ``(n_samples, *input_shape)`` in numpydoc type lines read
# right in help(); in reST the lone ``*`` would open an emphasis.
_STARRED = re.compile(r"(?<=[(, ])\*(?=\w)")


def _escape_starred_shapes(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if " : " in line and " of shape (" in line:
            lines[i] = _STARRED.sub(r"\\*", line)


def setup(app):
    app.connect("missing-reference", _resolve_top_level)
    app.connect("missing-reference", _sklearn_text)
    # before numpydoc turns the sections into reST
    app.connect("autodoc-process-docstring", _escape_starred_shapes, priority=100)
