"""CLI commands: ``clients create|list|delete`` manage OAuth clients."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from ..scopes import Catalog, ScopeError, ScopeSet
from ..server.grants.base import normalize_grant_type
from ..server.redirect_uri import MAX_REDIRECT_URI_LENGTH, validate_registered
from ..server.state import PEPPER_SECRET
from ..store.repositories import ClientRecord, ClientRepository, SecretRepository
from ..tokens import hash_client_secret, new_client_id, new_client_secret
from ._common import (
    EXIT_FAILED,
    CatalogOption,
    DatabaseUrlOption,
    JsonOption,
    admin_command,
    checked_name,
    fail,
    load_settings,
    open_catalog,
    open_sealed_store,
    open_store,
    print_json,
    print_table,
    shown,
)

__all__ = ["default_scopes_for", "register"]

clients_app = typer.Typer(help="OAuth clients.", no_args_is_help=True)
MAX_NAME_LENGTH = 200


def default_scopes_for(catalog: Catalog, allowed: frozenset[str]) -> frozenset[str]:
    """What a token request without ``scope`` gets: the catalog defaults the client may
    use, else everything it may use."""
    return catalog.defaults_within(allowed)


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


def _check_resource_server(uri: str) -> str:
    """A resource identifier (RFC 8707 §2): an absolute URI without a fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if (parts is None or not parts.scheme or not parts.netloc or "#" in uri
            or len(uri) > MAX_REDIRECT_URI_LENGTH or any(c.isspace() for c in uri)):
        fail(f"--resource-server {shown(uri)} must be an absolute URI without a fragment, "
             "e.g. https://api.example.com")
    return uri


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
                                  "that API, e.g. a guard's client (repeatable).")] = None,
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
    if public and resource_server:
        fail("a public client cannot be a resource server (it cannot authenticate to "
             "introspect)")
    served = [_check_resource_server(u) for u in (resource_server or [])]
    scopes_catalog = open_catalog(catalog)
    try:
        allowed = (scopes_catalog.parse_list(scope) if scope is not None
                   else scopes_catalog.default_scopes)
    except ScopeError as exc:
        fail(str(exc))
    if not allowed:
        fail("give at least one --scope")
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    secret = None if public else new_client_secret()
    with open_sealed_store(settings) as (db, keks):
        pepper = SecretRepository(db, keks).get_or_create(PEPPER_SECRET)
        record = ClientRepository(db).create(
            client_id=new_client_id(), name=name,
            secret_hash=hash_client_secret(pepper, secret) if secret else None,
            grant_types=grants, allowed_scopes=allowed,
            default_scopes=default_scopes_for(scopes_catalog, allowed), redirect_uris=uris,
            resource_servers=served)
    if as_json:
        print_json({"client_id": record.client_id, "client_secret": secret})
        return
    typer.echo(f"client_id:     {record.client_id}")
    if secret:
        typer.echo(f"client_secret: {secret}")
        typer.echo("Store the secret now: it is kept only as a hash and never shown again.",
                   err=True)


@admin_command(clients_app, "list")
def clients_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List registered clients (never their secrets)."""
    with open_store(load_settings(database_url=database_url)) as db:
        clients = ClientRepository(db).list()
    if as_json:
        print_json([_as_dict(c) for c in clients])
        return
    print_table(("client_id", "name", "type", "grants", "scopes"), (
        (c.client_id, c.name, "public" if c.is_public else "confidential",
         " ".join(sorted(c.grant_types)), str(ScopeSet(c.allowed_scopes)))
        for c in clients))


@admin_command(clients_app, "delete")
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="The client to delete.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Delete a client; running servers stop accepting it within seconds."""
    with open_store(load_settings(database_url=database_url)) as db:
        deleted = ClientRepository(db).delete(client_id)
    if not deleted:
        fail(f"no client {shown(client_id)}", code=EXIT_FAILED)
    typer.echo(f"deleted {client_id}")


def register(app: typer.Typer) -> None:
    """Attach ``clients`` to the root app."""
    app.add_typer(clients_app, name="clients")
