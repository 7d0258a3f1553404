"""CLI commands: ``resources add|list|remove`` manage resource servers (RFC 8707)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..server.admin.resources import (
    ResourceView,
    add_resource,
    catalog_resources,
    list_resources,
    remove_resource,
    resource_spec,
)
from ._common import admin_command, load_settings, open_catalog, open_store, refusals
from ._options import CatalogOption, DatabaseUrlOption, JsonOption
from ._output import print_json, print_table

__all__ = ["register"]

resources_app = typer.Typer(
    help="Resource servers: the APIs tokens are for (RFC 8707 resource, the token's aud).",
    no_args_is_help=True)


@admin_command(resources_app, "add")
def resources_add(
    url: Annotated[str, typer.Argument(
        help="The resource identifier: the API's URL a client sends as resource=, "
             "e.g. https://api.example.com/mcp")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="A catalog scope this resource offers (repeatable, at least one).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label for people.")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a resource server; running servers issue tokens for it within seconds."""
    scopes_catalog = open_catalog(catalog)
    with refusals():  # every check runs before the database is opened
        spec = resource_spec(scopes_catalog, identifier=url, scopes=scope or [], name=name)
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    with refusals():
        static = catalog_resources(scopes_catalog, settings)
    with open_store(settings) as db, refusals():
        added = add_resource(db, spec, static)
    if as_json:
        print_json(ResourceView(added).as_json())
        return
    typer.echo(f"added {added.identifier} ({added.name}): {' '.join(sorted(added.scopes))}")


@admin_command(resources_app, "list")
def resources_list(database_url: DatabaseUrlOption = None, catalog: CatalogOption = None,
                   as_json: JsonOption = False) -> None:
    """List resource servers: the catalog's audiences (static), then registered ones."""
    scopes_catalog = open_catalog(catalog)
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    with refusals():
        static = catalog_resources(scopes_catalog, settings)
    with open_store(settings) as db:
        views = list_resources(db, static)
    if as_json:
        print_json([v.as_json() for v in views])
        return
    print_table(("resource", "name", "kind", "scopes", "introspected by"), (
        (v.resource.identifier, v.resource.name,
         "catalog" if v.resource.static else "registered",
         " ".join(sorted(v.resource.scopes)), " ".join(v.introspected_by))
        for v in views))


@admin_command(resources_app, "remove")
def resources_remove(
    url: Annotated[str, typer.Argument(help="The resource identifier to remove.")],
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a registered resource: new tokens for it are refused within seconds, and
    introspection calls its tokens inactive."""
    scopes_catalog = open_catalog(catalog)
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    with refusals():
        static = catalog_resources(scopes_catalog, settings)
    with open_store(settings) as db, refusals():
        remove_resource(db, url, static)
    if as_json:
        print_json({"removed": url})
        return
    typer.echo(f"removed {url}")


def register(app: typer.Typer) -> None:
    """Attach ``resources`` to the root app."""
    app.add_typer(resources_app, name="resources")
