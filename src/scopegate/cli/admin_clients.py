"""CLI commands: ``clients create|list|delete`` manage OAuth clients."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..scopes import Catalog, ScopeError
from ..server.grants.base import normalize_grant_type
from ..server.redirect_uri import MAX_REDIRECT_URI_LENGTH, validate_registered
from ..server.state import PEPPER_SECRET
from ..store.repositories import ClientRecord, ClientRepository, SecretRepository
from ..tokens import hash_client_secret, new_client_id, new_client_secret
from ._admin_db import (
    EXIT_CODES_HELP,
    CatalogOption,
    DatabaseUrlOption,
    JsonOption,
    checked_name,
    fail,
    load_settings,
    open_catalog,
    open_database,
    shown,
    store_failures_are_one_line,
)

__all__ = ["default_scopes_for", "register"]

clients_app = typer.Typer(help="OAuth clients.", no_args_is_help=True)
MAX_NAME_LENGTH = 200


def default_scopes_for(catalog: Catalog, allowed: frozenset[str]) -> frozenset[str]:
    """What a token request without ``scope`` gets: the catalog defaults the client may
    use, else everything it may use."""
    defaults = frozenset(s for s in catalog.default_scopes if catalog.covers(allowed, [s]))
    return defaults or allowed


def _redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, in words a person can act on, or None."""
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return f"is longer than {MAX_REDIRECT_URI_LENGTH} characters"
    if any(c.isspace() or not c.isprintable() for c in uri):
        return "contains a space or a control character"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535
    except ValueError:
        return "has an invalid host or port"
    if parts.scheme not in ("http", "https") or not parts.hostname or "#" in uri:
        return "must be an absolute http(s) URL without a fragment"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    return None


def _check_redirect_uri(uri: str) -> str:
    problem = _redirect_uri_problem(uri)
    if problem is not None:
        fail(f"redirect URI {shown(uri)} {problem}")
    try:
        return validate_registered(uri)  # the server's rule: plain http on loopback only
    except ValueError as exc:
        fail(str(exc))


def _as_dict(client: ClientRecord) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.is_public,
        "grant_types": sorted(client.grant_types),
        "scopes": sorted(client.allowed_scopes),
        "default_scopes": sorted(client.default_scopes),
        "redirect_uris": list(client.redirect_uris),
        "created_at": client.created_at.isoformat(),
    }


@clients_app.command("create", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
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
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a client and print its id and secret (the secret is shown only once)."""
    name = checked_name(name, "--name", MAX_NAME_LENGTH)
    try:
        grants = sorted({normalize_grant_type(g) for g in (grant or ["client_credentials"])})
    except ValueError as exc:
        fail(str(exc))
    if public and "client_credentials" in grants:
        fail("a public client cannot use client_credentials (it has no secret)")
    if "authorization_code" in grants and not redirect_uri:
        fail("authorization_code needs at least one --redirect-uri")
    uris = [_check_redirect_uri(u) for u in (redirect_uri or [])]
    scopes_catalog = open_catalog(catalog)
    try:
        allowed = (scopes_catalog.parse_list(scope) if scope is not None
                   else scopes_catalog.default_scopes)
    except ScopeError as exc:
        fail(str(exc))
    if not allowed:
        fail("give at least one --scope")
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    db = open_database(settings)
    secret = None if public else new_client_secret()
    pepper = SecretRepository(db).get_or_create(PEPPER_SECRET)
    record = ClientRepository(db).create(
        client_id=new_client_id(), name=name,
        secret_hash=hash_client_secret(pepper, secret) if secret else None,
        grant_types=grants, allowed_scopes=allowed,
        default_scopes=default_scopes_for(scopes_catalog, allowed), redirect_uris=uris)
    db.dispose()
    if as_json:
        out: dict[str, object] = {"client_id": record.client_id, "client_secret": secret}
        typer.echo(orjson.dumps(out).decode())
        return
    typer.echo(f"client_id:     {record.client_id}")
    if secret:
        typer.echo(f"client_secret: {secret}")
        typer.echo("Store the secret now: it is kept only as a hash and never shown again.",
                   err=True)


@clients_app.command("list", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def clients_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List registered clients (never their secrets)."""
    db = open_database(load_settings(database_url=database_url))
    clients = ClientRepository(db).list()
    db.dispose()
    if as_json:
        typer.echo(orjson.dumps([_as_dict(c) for c in clients]).decode())
        return
    table = Table("client_id", "name", "type", "grants", "scopes")
    for client in clients:
        table.add_row(client.client_id, client.name,
                      "public" if client.is_public else "confidential",
                      " ".join(sorted(client.grant_types)),
                      " ".join(sorted(client.allowed_scopes)))
    Console().print(table)


@clients_app.command("delete", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="The client to delete.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Delete a client; running servers stop accepting it within seconds."""
    db = open_database(load_settings(database_url=database_url))
    deleted = ClientRepository(db).delete(client_id)
    db.dispose()
    if not deleted:
        fail(f"no client {client_id!r}", code=1)
    typer.echo(f"deleted {client_id}")


def register(app: typer.Typer) -> None:
    """Attach ``clients`` to the root app."""
    app.add_typer(clients_app, name="clients")
