"""Every public docstring of the package is valid numpydoc (issue 23).

A docstring can build without a Sphinx warning (``sphinx -W``) and still
render broken: a plain paragraph inside a ``Parameters`` section (say, prose
appended to a shared parameter text) renders as a bold fake parameter. This
module validates, with numpydoc's own validator (as scikit-learn's
``maint_tools/test_docstrings.py`` does):

- every public estimator class (:func:`sklearn_mlarch.utils.all_estimators`,
  and the other estimators the public modules export) and each of its
  public methods defined in this package; methods scikit-learn or skorch
  define (``get_params``, ``set_fit_request``, ``score``, ...) are theirs,
  not ours, and are skipped;
- every public function the public modules export (``__all__``, and the
  top-level package's lazy names, ``sklearn_mlarch._LAZY``).

It also checks that the entries of the sections numpydoc renders as lists
of names (``Parameters``, ``Other Parameters``, ``Attributes``) are names,
for every public class: numpydoc's validator looks at ``Parameters`` only,
and only compares it with a signature.
"""

import importlib
import inspect
import re

import pytest

pytest.importorskip("numpydoc")
from numpydoc.docscrape import NumpyDocString  # noqa: E402
from numpydoc.validate import validate  # noqa: E402

import sklearn_mlarch  # noqa: E402
from sklearn_mlarch.utils.discovery import all_estimators  # noqa: E402

# The numpydoc error codes enforced: those that flag a docstring whose
# sections do not parse as intended, i.e. that render broken.
CHECKED_CODES = {
    # parameters: every entry of Parameters is a real parameter, in the
    # signature's order, and every parameter has an entry. A paragraph of
    # prose inside the section is an unknown parameter (PR02) without a type
    # (PR04), and a colon in it splits it into a fake "name : type" (PR10)
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR10",
    # layout of the docstring and its sections: a docstring at all (GL08), no
    # stray blank lines or tabs (GL02, GL03, GL05), no unknown section
    # headers (GL06: "Note" instead of "Notes" renders as plain text),
    # sections in numpydoc's order (GL07), well-formed directives (GL09, GL10)
    "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    # a summary line (SS01) that fits on one line (SS06), which autosummary
    # tables show
    "SS01", "SS06",
}
# Skipped, as matters of style or completeness rather than of rendering:
# GL01 (summary on the line of the opening quotes: the package's style),
# SS02-SS05 (wording of the summary), ES01 (extended summary), PR06 ("int"
# rather than "integer"), PR07-PR09 (descriptions: an undescribed ``X`` of a
# predict method is common), RT01-RT05 (Returns: ``self : object`` is the
# scikit-learn convention that RT02 flags), YD01, SA01-SA04 (See Also) and
# EX01 (Examples: the estimators have them, the methods need not).

_PUBLIC_MODULES = ("neural_network", "ensemble", "model_selection", "meta_learning",
                   "datasets", "networks", "utils", "plotting", "persistence", "exceptions")
_OURS = "sklearn_mlarch"
# a section entry's name: ``X``, ``*args``, ``**kwargs``, ``x1, x2``
_NAME = re.compile(r"^\*{0,2}[A-Za-z_]\w*(\s*,\s*\*{0,2}[A-Za-z_]\w*)*$")
_NAME_SECTIONS = ("Parameters", "Other Parameters", "Attributes")


def _public_objects():
    """``{public dotted name: object}`` of the names the package exports."""
    names = {name: module for name, module in sklearn_mlarch._LAZY.items()}
    objects = {}
    for short in _PUBLIC_MODULES:
        module = importlib.import_module(f"{_OURS}.{short}")
        for name in getattr(module, "__all__", []):
            objects[f"{module.__name__}.{name}"] = getattr(module, name)
    for name, module in names.items():
        objects.setdefault(f"{module}.{name}", getattr(importlib.import_module(module), name))
    return objects


def _is_estimator(obj):
    from sklearn.base import BaseEstimator

    return inspect.isclass(obj) and issubclass(obj, BaseEstimator)


def _own_methods(cls):
    """Names of ``cls``'s public methods whose code is this package's."""
    names = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        defining = next((c for c in cls.__mro__ if name in vars(c)), None)
        if isinstance(vars(defining).get(name), property):
            continue  # attributes, documented in the class's Attributes
        method = getattr(cls, name, None)
        if not callable(method) or inspect.isclass(method):
            continue
        module = getattr(inspect.unwrap(method), "__module__", None) or ""
        if module.split(".")[0] == _OURS:
            names.append(name)
    return names


def _validated_names():
    objects = _public_objects()
    estimators = {f"{cls.__module__}.{name}": cls for name, cls in all_estimators()}
    public_path = {id(obj): path for path, obj in objects.items()}
    for path, cls in estimators.items():  # under their public path where exported
        objects.setdefault(public_path.get(id(cls), path), cls)
    names = []
    for path, obj in sorted(objects.items()):
        if _is_estimator(obj):
            names.append(path)
            names.extend(f"{path}.{method}" for method in _own_methods(obj))
        elif inspect.isfunction(obj):
            names.append(path)
    return names


def _public_classes():
    return sorted(path for path, obj in _public_objects().items() if inspect.isclass(obj))


VALIDATED = _validated_names()


def test_the_collection_is_not_empty():
    """The collection finds what it is meant to: estimators, methods, functions."""
    assert f"{_OURS}.neural_network.CNNClassifier" in VALIDATED
    assert f"{_OURS}.neural_network.CNNClassifier.fit" in VALIDATED
    assert f"{_OURS}.neural_network.CNNClassifier.get_params" not in VALIDATED  # sklearn's
    assert f"{_OURS}.persistence.save_model" in VALIDATED
    assert f"{_OURS}.ensemble.DeepEnsembleClassifier" in VALIDATED
    assert len(VALIDATED) > 100


@pytest.mark.parametrize("name", VALIDATED)
def test_docstring(name):
    errors = [(code, message) for code, message in validate(name)["errors"]
              if code in CHECKED_CODES]
    hints = {"PR02": "Prose belongs in a parameter's own description (indented under it) "
                     "or in a Notes section, not between the entries of Parameters.",
             "PR03": "Document the parameters in the order of the signature.",
             "PR01": "Document every parameter of the signature."}
    assert not errors, (
        f"The docstring of {name} does not render as written:\n"
        + "\n".join(f"  {code}: {message}" for code, message in errors)
        + "".join(f"\n{hints[code]}" for code in sorted({c for c, _ in errors}) if code in hints))


@pytest.mark.parametrize("name", _public_classes())
def test_section_entries_are_names(name):
    """Entries of Parameters and Attributes are names, not paragraphs of prose."""
    module, attr = name.rsplit(".", 1)
    doc = NumpyDocString(inspect.getdoc(getattr(importlib.import_module(module), attr)) or "")
    bad = [(section, entry.name) for section in _NAME_SECTIONS for entry in doc[section]
           if not _NAME.match(entry.name)]
    assert not bad, (
        f"The docstring of {name} has entries that are not names, which render as bold "
        "fake parameters or attributes: "
        + "; ".join(f"{section}: {entry!r}" for section, entry in bad)
        + ". Move such prose into the entry's own description (indented under it) or a "
          "Notes section.")
