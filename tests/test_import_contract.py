"""The package contract, read from the source: every import, function-level and
`TYPE_CHECKING` ones included, so a late import cannot hide a forbidden edge.

- `scopes/` and `ratelimit/` import nothing of ours (pure building blocks);
- `tokens/` imports only `scopes/` and the shared `errors` module;
- the guard never imports the server or the store;
- the client never imports the server, the guard or the store;
- the shared leaf modules (`errors`, `config_checks`) import only `scopes/`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "scopegate"

# package -> the packages of ours it may import (itself always allowed)
ALLOWED: dict[str, set[str]] = {
    "scopes": set(),
    "ratelimit": set(),
    "tokens": {"scopes", "errors"},
    "guard": {"scopes", "errors", "config_checks", "ratelimit", "tokens"},
    "client": {"scopes", "errors"},
}


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute module name) for every import in one file."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: list[str]) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            else:
                yield node.lineno, node.module or ""


def _top_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "scopegate" and len(parts) > 1 else None


LEAF_MODULES: dict[str, set[str]] = {"errors": {"scopes"}, "config_checks": {"scopes"}}


def _files(name: str) -> list[Path]:
    folder = SRC / name
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [SRC / f"{name}.py"]


@pytest.mark.parametrize("package", sorted(ALLOWED | LEAF_MODULES))
def test_package_imports_only_what_the_contract_allows(package: str) -> None:
    allowed = (ALLOWED | LEAF_MODULES)[package] | {package}
    broken = [
        f"{path.relative_to(SRC.parent)}:{line} imports {module}"
        for path in _files(package)
        for line, module in _imports(path)
        if (target := _top_package(module)) is not None and target not in allowed
    ]
    assert not broken, "\n".join(broken)


def test_contract_sees_late_and_relative_imports() -> None:
    """An import hidden in a function or behind `..` is read like any other."""
    source = ("def late():\n"
              "    from scopegate.server import app\n"
              "    from ..store import db\n"
              "    return app, db\n")
    found = {module for _, module in _imports_in(source, ["scopegate", "guard"])}
    assert {"scopegate.server", "scopegate.store"} <= found
