"""CLI commands: ``scopes list`` prints the public scope catalog."""

from __future__ import annotations

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..server.endpoints.scopes_api import public_catalog
from ._admin_db import EXIT_CODES_HELP, CatalogOption, JsonOption, open_catalog

__all__ = ["register"]

scopes_app = typer.Typer(help="The scope catalog.", no_args_is_help=True)


@scopes_app.command("list", epilog=EXIT_CODES_HELP)
def scopes_list(catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
    """List the public scopes (the same data as ``GET /api/v1/scopes``)."""
    entries = public_catalog(open_catalog(catalog))
    if as_json:
        typer.echo(orjson.dumps({"scopes": entries}).decode())
        return
    table = Table("scope", "aliases", "audience", "description")
    for entry in entries:
        table.add_row(entry["name"], ", ".join(entry["aliases"]), entry["audience"] or "",
                      entry["description"])
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Attach ``scopes`` to the root app."""
    app.add_typer(scopes_app, name="scopes")
