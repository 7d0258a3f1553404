"""CLI commands: ``routes check`` lists every route with its declared scopes.

It exits 1 when a route declares nothing (and is not marked public) or names a scope the
catalog does not know, so CI catches a forgotten declaration before it ships.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..guard.routes import RouteEntry, list_routes
from ..scopes import Catalog, CatalogError, load_catalog

__all__ = ["RouteProblem", "check_routes", "load_app", "register"]

routes_app = typer.Typer(help="Inspect the routes of an API protected by the guard.",
                         no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class RouteProblem:
    """Why one route fails the check."""

    route: RouteEntry
    reason: str


def load_app(import_path: str) -> Any:
    """Import ``module:attribute`` (``module`` alone means ``module:app``)."""
    module_name, _, attribute = import_path.partition(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    module = importlib.import_module(module_name)
    target: Any = module
    for part in (attribute or "app").split("."):
        target = getattr(target, part)
    if callable(target) and not hasattr(target, "routes") and not hasattr(target, "url_map"):
        target = target()  # an app factory
    return target


def check_routes(routes: list[RouteEntry], catalog: Catalog) -> list[RouteProblem]:
    """Return every undeclared route and every declared scope missing from the catalog."""
    problems: list[RouteProblem] = []
    for route in routes:
        declaration = route.declaration
        if declaration is None:
            problems.append(RouteProblem(route, "no scope declaration (add one or mark public)"))
            continue
        unknown = [s for s in declaration.scopes if s not in catalog]
        if unknown:
            problems.append(RouteProblem(route, f"unknown scope: {', '.join(unknown)}"))
    return problems


def _scopes_text(route: RouteEntry) -> str:
    if route.declaration is None:
        return "-"
    if route.declaration.public:
        return "(public)"
    return " ".join(route.declaration.scopes)


EXIT_CODES_HELP = ("Exit codes: 0 every route declares known scopes; 1 a route is undeclared "
                   "or names a scope missing from the catalog; 2 the app or the catalog "
                   "cannot be loaded.")


@routes_app.command("check", epilog=EXIT_CODES_HELP)
def routes_check(
    app_path: Annotated[str, typer.Argument(
        metavar="APP_IMPORT_PATH", help="module:app of a Starlette, FastAPI or Flask app")],
    catalog_path: Annotated[Path | None, typer.Option("--catalog",
                                                      help="scope catalog (default: bundled)")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List every route with its declared scopes; exit 1 if one is undeclared or unknown."""
    try:
        catalog = load_catalog(catalog_path)
    except CatalogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        routes = list_routes(load_app(app_path))
    except Exception as exc:  # importing the app runs its code: any error may come out
        problem = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"error: cannot load {app_path}: {problem}", err=True)
        raise typer.Exit(2) from None
    problems = check_routes(routes, catalog)
    failing = {id(p.route): p.reason for p in problems}
    if as_json:
        typer.echo(orjson.dumps({
            "ok": not problems,
            "routes": [{"path": r.path, "methods": list(r.methods), "name": r.name,
                        "public": bool(r.declaration and r.declaration.public),
                        "scopes": list(r.declaration.scopes) if r.declaration else None,
                        "problem": failing.get(id(r))} for r in routes],
        }).decode())
    else:
        table = Table("methods")
        for column in ("path", "scopes", "status"):
            table.add_column(column, overflow="fold")
        for route in routes:
            reason = failing.get(id(route))
            table.add_row(",".join(route.methods), route.path, _scopes_text(route),
                          f"[red]{reason}[/red]" if reason else "[green]ok[/green]")
        console = Console()
        console.print(table)
        console.print(f"{len(problems)} problem(s) in {len(routes)} route(s)" if problems
                      else f"all {len(routes)} route(s) declared")
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach ``routes`` to the root app."""
    app.add_typer(routes_app, name="routes")
