"""The package contract, read from the source: every import, function-level and
`TYPE_CHECKING` ones included, so a late import cannot hide a forbidden edge.

- `scopes/`, `ratelimit/` and `events/` import nothing of ours (pure building blocks);
- `tokens/` imports only `scopes/` and the shared `errors` module;
- the guard never imports the server or the store;
- the client never imports the server, the guard or the store;
- the shared leaf modules (`errors`, `config_checks`) import only `scopes/`, `_extras`
  (which extra to install) nothing of ours;
- clients, API keys, users, workspaces and sessions are written through `server/admin/`
  (a short, explained list of runtime modules may use those repositories), and the CLI
  imports no HTTP endpoint module nor the pepper's name.
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
    "events": set(),
    "guard": {"scopes", "errors", "config_checks", "_extras", "ratelimit", "tokens", "events"},
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


LEAF_MODULES: dict[str, set[str]] = {"errors": {"scopes"}, "config_checks": {"scopes"},
                                     "_extras": set()}


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


# -- admin operations ---------------------------------------------------------------------
# Clients, API keys, users, workspaces and browser sessions are written by the admin
# operations (`server/admin/`) and by nothing else that an operator or a fixture calls.
# The rule, read from the source: outside `store/` and `server/admin/`, only the modules
# below may name these repositories, each for the one runtime job written beside it.

ADMIN_REPOSITORIES = frozenset({"ClientRepository", "ApiKeyRepository", "UserRepository",
                                "WorkspaceRepository", "SessionRepository",
                                "ResourceRepository"})
RUNTIME_USERS: dict[str, frozenset[str]] = {
    # the state builds the client cache (reads clients) and the server's one key repository
    "server/state.py": frozenset({"ClientRepository", "ApiKeyRepository",
                                  "ResourceRepository"}),
    # the resource directory reads registered resources for the token endpoint
    "server/oauth2/resources.py": frozenset({"ResourceRepository"}),
    "server/oauth2/client_cache.py": frozenset({"ClientRepository"}),
    # sign-in reads users and workspaces and starts, touches and ends its own session
    "server/shared/user_grants.py": frozenset({"UserRepository", "WorkspaceRepository",
                                        "SessionRepository"}),
    "server/pages/sessions.py": frozenset({"SessionRepository"}),
    # introspection verifies a presented key (and records its last use)
    "server/management/api_key_tokens.py": frozenset({"ApiKeyRepository"}),
    # `db prune` deletes expired rows
    "server/ops/maintenance.py": frozenset({"ApiKeyRepository", "SessionRepository"}),
    # names the server's key repository's type; every operation is server.admin.keys
    "server/management/api_keys.py": frozenset({"ApiKeyRepository"}),
}


def _named(path: Path) -> set[str]:
    """Every admin repository a file imports or reaches as an attribute."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names & ADMIN_REPOSITORIES


def _outside_store_and_admin() -> list[Path]:
    return [path for path in sorted(SRC.rglob("*.py"))
            if not path.relative_to(SRC).as_posix().startswith(("store/", "server/admin/"))]


def test_only_admin_operations_write_clients_keys_users_and_sessions() -> None:
    broken = [
        f"{rel} names {', '.join(sorted(extra))}: call scopegate.server.admin instead"
        for path in _outside_store_and_admin()
        if (extra := _named(path) - RUNTIME_USERS.get(rel := path.relative_to(SRC).as_posix(),
                                                      frozenset()))
    ]
    assert not broken, "\n".join(broken)


#: The server modules a CLI command may use: the admin operations, and what starting a
#: server or opening its database needs. Never an endpoint (HTTP) module.
CLI_MAY_IMPORT_FROM_SERVER = (
    "scopegate.server.admin", "scopegate.server.config", "scopegate.server.crypto",
    "scopegate.server.ops.logs", "scopegate.server.ops.maintenance", "scopegate.server.state",
    "scopegate.server.ops.metrics",  # serve --workers N prepares the shared metrics directory
)


def test_the_cli_reaches_the_server_through_admin_operations_only() -> None:
    """No HTTP endpoint module, no pepper: the CLI parses, calls server.admin, prints."""
    broken = [
        f"{path.relative_to(SRC.parent)}:{line} imports {module}"
        for path in _files("cli")
        for line, module in _imports(path)
        if module.startswith("scopegate.server.")
        and not module.startswith(CLI_MAY_IMPORT_FROM_SERVER)
    ] + [
        f"{path.relative_to(SRC.parent)} names PEPPER_SECRET"
        for path in _files("cli")
        if "PEPPER_SECRET" in path.read_text(encoding="utf-8")
    ]
    assert not broken, "\n".join(broken)


# -- no cycles inside a package -----------------------------------------------------------
# Every import counts (function-level and `TYPE_CHECKING` ones too): a late import hides a
# cycle from Python, not from a reader. The modules of one strongly connected group import
# each other; a group is a cycle.

CYCLE_PACKAGES = ("server", "guard", "client")

# Cycles not yet untangled, each written as its sorted module names (without "scopegate.").
# This list may only shrink: a new cycle fails, and so does an entry that no longer is one.
ALLOWED_CYCLES: frozenset[tuple[str, ...]] = frozenset()


def _edges_in(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that one file imports (a `from pkg import mod` names mod)."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (".".join([*package[: len(package) - (node.level - 1)],
                              *([node.module] if node.module else [])])
                    if node.level else node.module or "")
            named = {f"{base}.{alias.name}" for alias in node.names} & known
            found |= named or {base}
    return found & known


def _module_graph(package: str) -> dict[str, set[str]]:
    files = {".".join(_module_name(path)): path for path in _files(package)}
    known = set(files)
    return {name: _edges_in(path, known) - {name} for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The strongly connected groups of more than one module (Tarjan's DFS)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                groups.add(tuple(sorted(m.removeprefix("scopegate.") for m in group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


@pytest.mark.parametrize("package", CYCLE_PACKAGES)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    found = _cycles(_module_graph(package))
    allowed = {group for group in ALLOWED_CYCLES if group[0].startswith(f"{package}.")}
    assert not found - allowed, "import cycles:\n" + "\n".join(
        " <-> ".join(group) for group in sorted(found - allowed))
    assert not allowed - found, "no longer cycles; drop them from ALLOWED_CYCLES:\n" + "\n".join(
        " <-> ".join(group) for group in sorted(allowed - found))


def test_cycle_finder_sees_a_late_import_cycle() -> None:
    graph = {"scopegate.a": {"scopegate.b"}, "scopegate.b": {"scopegate.a"},
             "scopegate.c": {"scopegate.a"}}
    assert _cycles(graph) == {("a", "b")}
