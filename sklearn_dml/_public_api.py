"""The public API, read from each public module's ``__all__``.

The API reference (``doc/conf.py``) and ``tests/test_docstrings.py`` both list public
names through :func:`public_api`, so a name added to an ``__all__`` (or a new public
submodule) is documented and checked without editing any list by hand.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType


def public_modules() -> list[ModuleType]:
    """``sklearn_dml`` and its submodules whose names do not start with ``_``."""
    root = importlib.import_module("sklearn_dml")
    modules = [root]
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"sklearn_dml.{info.name}"))
    return modules


def public_names(module: ModuleType) -> list[str]:
    """The module's ``__all__`` (else its non-module, non-underscore names), dunders dropped."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module)
                 if not n.startswith("_") and not inspect.ismodule(getattr(module, n))]
    return [n for n in names if not n.startswith("__")]


def public_api() -> list[tuple[str, str, object]]:
    """``(module name, public name, object)`` for every public name, in ``__all__`` order."""
    return [(module.__name__, name, getattr(module, name))
            for module in public_modules() for name in public_names(module)]
