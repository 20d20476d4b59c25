"""Sphinx configuration for sklearn_dml's documentation.

Build with ``sphinx-build -W -b html doc doc/_build/html`` (warnings are errors).
The API reference (``api.rst``) is written here, before Sphinx reads any page, from each
public module's ``__all__`` (``sklearn_dml._public_api``), so new public names appear
without editing a list. The gallery runs every ``examples/plot_*.py``; other example
files are shown but not executed.
"""

import inspect
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

DOC = Path(__file__).resolve().parent
sys.path.insert(0, str(DOC.parent))  # the checkout's sklearn_dml, not an installed copy

import sklearn_dml  # noqa: E402
from sklearn_dml._public_api import public_modules, public_names  # noqa: E402

project = "sklearn_dml"
author = "sklearn_dml developers"
copyright = "sklearn_dml developers"
release = sklearn_dml.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "**/*.ipynb", "**/*.py", "**/*.md5",
                    "**/*.pickle", "**/*.json", "**/*.txt", "**/*.zip"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_dml {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_show_sourcelink = False

autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# No network at build time: references to other projects stay plain text.
intersphinx_mapping: dict = {}

# ---------------------------------------------------------------------------
# Gallery
# ---------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(DOC.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"[\\/]plot_",   # executed; other .py files are shown, not run
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "doc_module": ("sklearn_dml",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "show_memory": False,
}

# ---------------------------------------------------------------------------
# API reference, generated from __all__
# ---------------------------------------------------------------------------


def _summary_line(obj):
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def _autosummary(module_name, names, template):
    lines = [f".. currentmodule:: {module_name}", "",
             ".. autosummary::", "   :toctree: generated/", f"   :template: {template}", ""]
    lines += [f"   {name}" for name in names]
    return lines + [""]


def _api_page():
    lines = [".. Written by doc/conf.py from each public module's __all__; do not edit.", "",
             "API reference", "=============", "",
             "Every public class and function, by module. Estimators live in the top-level",
             "package; families, targets and simulated datasets in their subpackages.", ""]
    for module in public_modules():
        names = public_names(module)
        classes = [n for n in names if inspect.isclass(getattr(module, n))]
        functions = [n for n in names if inspect.isroutine(getattr(module, n))]
        data = [n for n in names if n not in classes and n not in functions]
        title = f":mod:`{module.__name__}`"
        lines += [title, "-" * len(title), "", f".. automodule:: {module.__name__}",
                  "   :no-members:", "   :no-index:", ""]
        for heading, group, template in (("Classes", classes, "class.rst"),
                                         ("Functions", functions, "function.rst")):
            if group:
                lines += [heading, "~" * len(heading), ""]
                lines += _autosummary(module.__name__, group, template)
        if data:
            lines += ["Constants", "~~~~~~~~~", ""]
            for name in data:
                value = getattr(module, name)
                shown = ", ".join(map(repr, value)) if isinstance(value, (list, tuple, dict)) \
                    else repr(value)
                lines += [f"``{module.__name__}.{name}``", f"    {shown}", ""]
    return "\n".join(lines) + "\n"


def _write_if_changed(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


_write_if_changed(DOC / "api.rst", _api_page())


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members that scikit-learn or torch add to our classes (set_*_request, ...).

    Their docstrings point into those projects' own docs, and they are documented there.
    """
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in ("sklearn", "torch"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
