"""Sphinx configuration of the sklearn_mlarch documentation.

Build it locally from the repository root::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

then open ``docs/_build/html/index.html``. ``-W`` turns warnings into errors,
as CI does (``.ci/run``). The examples gallery is rendered from ``examples/``
without running the scripts (they are smoke-tested by the test suite), so the
build takes about a minute and needs no data. ``docs/generated/`` (the
API pages written by autosummary) and ``docs/auto_examples/`` are written by
the build; delete them with ``docs/_build/`` for a clean build.

No intersphinx: the build must work without internet access.
"""

import os
import re
import sys
import time

# the package is installed in editable mode; this also makes a plain checkout work
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import sklearn_mlarch  # noqa: E402

project = "sklearn_mlarch"
author = "sklearn_mlarch developers"
copyright = f"{time.strftime('%Y')}, {author}"
version = release = sklearn_mlarch.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
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

# -- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Never run the scripts here: they train networks (minutes) and some take
    # command-line arguments such as --quick. The test suite smoke-tests them.
    "plot_gallery": "False",
    "filename_pattern": r"^$",
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
# scikit-learn's own documentation; without intersphinx they render as text.
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
