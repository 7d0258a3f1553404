"""Size limits a reader can hold in their head, checked on every run of the test command:
no module over 300 lines, no function over 50, control flow nested at most 4 deep.

Migrations are exempt (generated shape, never edited after release). Each remaining
offender is listed in ``KNOWN_DEBT`` with the redesign step that removes it; the list may
only shrink: a new offender, or an entry that no longer offends, fails the test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "scopegate"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
MAX_NESTING = 4

_NESTING = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
            ast.Match)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)

#: offender -> why it is still here (issue 10 removes these).
KNOWN_DEBT: dict[str, str] = {
}


def _depth(node: ast.AST, level: int = 0) -> int:
    deepest = level
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPES):
            continue  # a nested function or class is measured on its own
        deepest = max(deepest, _depth(child, level + isinstance(child, _NESTING)))
    return deepest


def _offenders() -> Iterator[str]:
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(SRC).as_posix()
        if len(source.splitlines()) > MAX_MODULE_LINES:
            yield f"module {name}"
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES:
                yield f"function {name}:{node.name}"
            if _depth(node) > MAX_NESTING:
                yield f"nesting {name}:{node.name}"


def test_no_new_module_function_or_nesting_over_the_limits() -> None:
    found = set(_offenders())
    assert not found - set(KNOWN_DEBT), "over the limits:\n" + "\n".join(
        sorted(found - set(KNOWN_DEBT)))


def test_the_known_debt_list_only_shrinks() -> None:
    paid = set(KNOWN_DEBT) - set(_offenders())
    assert not paid, "no longer over the limits, remove from KNOWN_DEBT:\n" + "\n".join(
        sorted(paid))


def test_the_depth_reader_counts_nested_blocks_not_nested_functions() -> None:
    source = ("def f():\n"
              "    if a:\n"
              "        for b in c:\n"
              "            def g():\n"
              "                if d:\n"
              "                    pass\n")
    function = ast.parse(source).body[0]
    assert _depth(function) == 2
