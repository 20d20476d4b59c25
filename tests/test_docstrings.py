"""Every public name has a numpydoc docstring whose Parameters match its signature."""

import inspect
import re

import pytest

import sklearn_dml
import sklearn_dml.compare
import sklearn_dml.datasets
import sklearn_dml.families
import sklearn_dml.targets


def _public_objects():
    seen = {}
    for module in (sklearn_dml, sklearn_dml.datasets, sklearn_dml.families, sklearn_dml.targets,
                   sklearn_dml.compare):
        names = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
        for name in names:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and \
                    obj.__module__.startswith("sklearn_dml"):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return sorted(seen.items())


def _documented_params(doc):
    match = re.search(r"\n\s*Parameters\n\s*-+\n(.*?)(\n\s*(Returns|Yields|Attributes|See Also|"
                      r"Notes|References|Examples|Raises)\n\s*-+\n|\Z)", doc, re.S)
    if not match:
        return []
    indent = None
    names = []
    for line in match.group(1).splitlines():
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip())
        indent = lead if indent is None else indent
        if lead == indent:
            head = line.strip().split(" : ")[0]
            names.extend(n.strip() for n in head.split(","))
    return names


OBJECTS = _public_objects()


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_public_object_has_docstring(name, obj):
    assert obj.__doc__ and len(obj.__doc__.strip()) > 20, f"{name} needs a docstring"


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_documented_parameters_match_signature(name, obj):
    func = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and func is object.__init__:
        return
    params = [p for p in inspect.signature(func).parameters
              if p not in ("self", "args", "kwargs")]
    documented = _documented_params(inspect.getdoc(obj) or "")
    if not params:
        return
    assert documented == params, f"{name}: docstring lists {documented}, signature has {params}"


@pytest.mark.parametrize("cls", [sklearn_dml.StructuralDMLRegressor, sklearn_dml.LogitDML,
                                 sklearn_dml.StructuralDML])
def test_estimators_have_examples(cls):
    assert "Examples\n    --------" in cls.__doc__
