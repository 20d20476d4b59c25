"""The package's layout rules: small modules and functions, Λ methods known only to _lambda."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_dml"
MAX_MODULE_LINES = 500
MAX_FUNCTION_CODE_LINES = 60
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _code_lines(node, lines):
    """Lines of a function without its docstring, blank lines and comment-only lines."""
    skip = set()
    first = node.body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        skip = set(range(first.lineno, first.end_lineno + 1))
    return sum(1 for i in range(node.lineno, node.end_lineno + 1)
               if i not in skip and lines[i - 1].strip()
               and not lines[i - 1].strip().startswith("#"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_are_small(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{path.name}: {len(lines)} lines"
    long = [(node.name, _code_lines(node, lines)) for node in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _code_lines(node, lines) > MAX_FUNCTION_CODE_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_CODE_LINES} code lines: {long}"


def test_lambda_methods_and_index_families_are_tested_only_in_lambda():
    """Outside _lambda/ (and the families that declare them), no code branches on a Λ
    method name or on the IndexFamily class: the strategies and the families' facts do."""
    method = re.compile(r"(lambda_method_?|method)\s*(==|!=|in)\s*[\"'(]")
    for path in SOURCES:
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("_lambda", "families"):
            continue
        text = path.read_text()
        assert "isinstance(family, IndexFamily)" not in text, relative
        assert not method.search(text), relative
