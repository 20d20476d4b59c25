"""Every public name has a numpydoc docstring whose Parameters match its signature, and an
Examples section that runs; the API reference lists every public name.

"Public" is read from each public module's ``__all__`` (``sklearn_dml._public_api``), the
same list ``doc/conf.py`` writes the API reference from.
"""

import doctest
import inspect
import re
import runpy
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator

from sklearn_dml._public_api import public_api, public_modules, public_names

DOC = Path(__file__).resolve().parents[1] / "doc"


def _public_objects():
    seen = {}
    for _, _, obj in public_api():
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


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_public_object_has_examples(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Examples\n-{8}\n", doc, re.M), f"{name} needs an Examples section"
    assert ">>> " in doc.split("Examples\n--------", 1)[1], f"{name}: Examples has no doctest"


def _run_examples(name, obj):
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    assert tests and tests[0].examples, f"{name} has no doctest examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} docstring example(s) failed"


def _fits(obj):
    return inspect.isclass(obj) and issubclass(obj, BaseEstimator)


FAST = [(n, o) for n, o in OBJECTS if not _fits(o)]
FITTING = [(n, o) for n, o in OBJECTS if _fits(o)]


@pytest.mark.parametrize("name, obj", FAST, ids=[n for n, _ in FAST])
def test_docstring_examples_run(name, obj):
    _run_examples(name, obj)


@pytest.mark.slow
@pytest.mark.parametrize("name, obj", FITTING, ids=[n for n, _ in FITTING])
def test_estimator_docstring_examples_run(name, obj):
    """Estimators' examples fit networks (seconds each): run with ``-m slow``."""
    _run_examples(name, obj)


def test_public_api_follows_all():
    modules = {m.__name__ for m in public_modules()}
    assert {"sklearn_dml", "sklearn_dml.targets", "sklearn_dml.families",
            "sklearn_dml.datasets", "sklearn_dml.compare"} <= modules
    listed = {(m, n) for m, n, _ in public_api()}
    for module in public_modules():
        for name in getattr(module, "__all__", []):
            if not name.startswith("__"):
                assert (module.__name__, name) in listed
                assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"


def test_api_page_lists_every_public_name():
    page = runpy.run_path(str(DOC / "conf.py"))["_api_page"]()
    entries, current = set(), None
    for line in page.splitlines():
        if line.startswith(".. currentmodule:: "):
            current = line.split()[-1]
        elif line.startswith("   ") and not line.strip().startswith(":") and current:
            entries.add((current, line.strip()))
    for module in public_modules():
        for name in public_names(module):
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                assert (module.__name__, name) in entries, f"{module.__name__}.{name}"
            else:
                assert f"``{module.__name__}.{name}``" in page


@pytest.mark.parametrize("qualified", ["sklearn_dml._adam.Adam",
                                       "sklearn_dml._lbfgs.EnsembleLBFGS"])
def test_private_optimizer_examples_run(qualified):
    """The optimizers are private, but their examples are their quickest reference."""
    module, name = qualified.rsplit(".", 1)
    obj = getattr(__import__(module, fromlist=[name]), name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(recurse=False).find(obj, name, globs={}):
        runner.run(test)
    assert runner.tries > 0 and runner.failures == 0
