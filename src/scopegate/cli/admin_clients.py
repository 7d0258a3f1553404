"""CLI commands: ``clients create|list|delete|rotate-secret|initial-token`` manage OAuth
clients."""

from __future__ import annotations

from typing import Annotated

import typer

from ..scopes import ScopeSet
from ..server.admin.client_spec import client_spec
from ..server.admin.clients import (
    client_pepper,
    delete_client,
    list_clients,
    register_client,
    rotate_client_secret,
)
from ..server.admin.registration import new_initial_access_token
from ..store.repositories import ClientRecord
from ._common import (
    admin_command,
    load_settings,
    open_catalog,
    open_sealed_store,
    refusals,
    store_at,
)
from ._options import CatalogOption, DatabaseUrlOption, JsonOption
from ._output import print_json, print_listing

__all__ = ["register"]

clients_app = typer.Typer(help="OAuth clients.", no_args_is_help=True)
_SHOWN_ONCE = "Store the secret now: it is kept only as a hash and never shown again."


def _as_dict(client: ClientRecord) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.is_public,
        "grant_types": sorted(client.grant_types),
        "scopes": ScopeSet(client.allowed_scopes).to_list(),
        "default_scopes": ScopeSet(client.default_scopes).to_list(),
        "redirect_uris": list(client.redirect_uris),
        "resource_servers": sorted(client.resource_servers),
        "created_at": client.created_at.isoformat(),
        "registered_dynamically": client.registered_dynamically,
    }


@admin_command(clients_app, "create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="A label for people.")],
    grant: Annotated[list[str] | None, typer.Option(
        "--grant", help="Grant type (repeatable; URN form accepted). "
                        "Default: client_credentials.")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="A scope the client may request (repeatable). "
                        "Default: the catalog's default scopes.")] = None,
    redirect_uri: Annotated[list[str] | None, typer.Option(
        "--redirect-uri", help="Allowed redirect URI (repeatable).")] = None,
    public: Annotated[bool, typer.Option(
        "--public", help="A public client (no secret; e.g. a CLI using PKCE).")] = False,
    resource_server: Annotated[list[str] | None, typer.Option(
        "--resource-server", help="A resource identifier (the API's audience) this client "
                                  "serves: introspection tells it about tokens meant for "
                                  "that API, e.g. a guard's client (repeatable); with "
                                  "--grant token-exchange it may trade its callers' tokens "
                                  "for tokens for other APIs (RFC 8693).")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a client and print its id and secret (the secret is shown only once)."""
    scopes_catalog = open_catalog(catalog)
    with refusals():  # every check runs before the database is opened
        spec = client_spec(
            scopes_catalog, name=name,
            grants=grant or ["client_credentials"], scopes=scope,
            redirect_uris=redirect_uri or [], public=public,
            resource_servers=resource_server or [])
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    with open_sealed_store(settings) as (db, keks):
        record, secret = register_client(db, client_pepper(db, keks), spec)
    if as_json:
        print_json({"client_id": record.client_id, "client_secret": secret or None})
        return
    typer.echo(f"client_id:     {record.client_id}")
    if secret:
        typer.echo(f"client_secret: {secret}")
        typer.echo(_SHOWN_ONCE, err=True)


@admin_command(clients_app, "list")
def clients_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List registered clients (never their secrets)."""
    with store_at(database_url) as db:
        clients = list_clients(db)
    print_listing(as_json, clients, view=_as_dict,
                  columns=("client_id", "name", "type", "grants", "scopes"),
                  row=lambda c: (c.client_id, c.name,
                                 "public" if c.is_public else "confidential",
                                 " ".join(sorted(c.grant_types)),
                                 str(ScopeSet(c.allowed_scopes))))


@admin_command(clients_app, "delete")
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="The client to delete.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Delete a client; running servers stop accepting it within seconds."""
    with store_at(database_url) as db:
        delete_client(db, client_id)
    typer.echo(f"deleted {client_id}")


@admin_command(clients_app, "rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The confidential client.")],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a client a new secret and print it (shown only once); the old one stops
    working as soon as running servers' client cache expires (seconds)."""
    with open_sealed_store(load_settings(database_url=database_url)) as (db, keks), \
            refusals():
        secret = rotate_client_secret(db, client_pepper(db, keks), client_id)
    if as_json:
        print_json({"client_id": client_id, "client_secret": secret})
        return
    typer.echo(f"client_id:     {client_id}")
    typer.echo(f"client_secret: {secret}")
    typer.echo(_SHOWN_ONCE, err=True)


@admin_command(clients_app, "initial-token")
def clients_initial_token(as_json: JsonOption = False) -> None:
    """Make an initial access token for dynamic registration (RFC 7591 §3).

    Give the token to whoever may register confidential clients or other grants; add
    its hash to SCOPEGATE_REGISTRATION_INITIAL_TOKENS (comma-separated) and restart the
    servers. The token itself is stored nowhere; remove the hash to revoke it.
    """
    token, digest = new_initial_access_token()
    if as_json:
        print_json({"initial_access_token": token, "sha256": digest})
        return
    typer.echo(f"initial_access_token: {token}")
    typer.echo(f"sha256:               {digest}")
    typer.echo("Add the sha256 to SCOPEGATE_REGISTRATION_INITIAL_TOKENS; the token is shown "
               "only now.", err=True)


def register(app: typer.Typer) -> None:
    """Attach ``clients`` to the root app."""
    app.add_typer(clients_app, name="clients")
