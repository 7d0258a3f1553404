"""CLI commands: ``scopes list`` prints the public scope catalog."""

from __future__ import annotations

import typer

from ..scopes import ScopeError, public_listing
from ._common import (
    admin_command,
    fail,
    load_settings,
    open_catalog,
)
from ._options import CatalogOption, JsonOption
from ._output import print_json, print_table

__all__ = ["register"]

scopes_app = typer.Typer(help="The scope catalog.", no_args_is_help=True)


@admin_command(scopes_app, "list")
def scopes_list(catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
    """List the public scopes (the same data as ``GET /api/v1/scopes``)."""
    # The server's own resources (@management, @userinfo) as this configuration names them.
    symbols = load_settings(catalog_path=catalog).audience_symbols
    try:
        entries = public_listing(open_catalog(catalog).resolve_audiences(symbols))["scopes"]
    except ScopeError as exc:
        fail(str(exc))
    if as_json:  # one object, not a bare list: the shape of GET /api/v1/scopes
        print_json({"scopes": entries})
        return
    print_table(("scope", "aliases", "audience", "description"), (
        (e["name"], ", ".join(e["aliases"]), e["audience"] or "", e["description"])
        for e in entries))


def register(app: typer.Typer) -> None:
    """Attach ``scopes`` to the root app."""
    app.add_typer(scopes_app, name="scopes")
