"""CLI commands: ``keys create|list|revoke|rotate`` manage users' API keys.

The same rules as ``POST /api/v1/keys`` (``tokens.api_key_policy``): canonical names or
aliases in, canonical stored, public scopes only, never beyond the owner's role. Exit
codes: 0 done, 1 no such user or key, 2 bad input.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..errors import OAuthError
from ..scopes import Catalog
from ..server.endpoints.api_keys import key_json
from ..server.settings import Settings
from ..store.models import utcnow
from ..store.repositories.api_keys import ApiKeyError, ApiKeyNotFound, ApiKeyRepository
from ..tokens.api_key_policy import (
    DEFAULT_GRACE,
    MAX_GRACE,
    capped_by_roles,
    expiry,
    parse_duration,
    requested_key_scopes,
)
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
    store_failures_are_one_line,
)

__all__ = ["register"]

keys_app = typer.Typer(help="Users' API keys.", no_args_is_help=True)
MAX_NAME_LENGTH = 100
_SHOWN_ONCE = "Store the key now: it is kept only as a hash and never shown again."


def _settings(database_url: str | None, catalog: str | None) -> tuple[Settings, Catalog]:
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    return settings, open_catalog(settings.catalog_path)


def _repository(settings: Settings) -> ApiKeyRepository:
    return ApiKeyRepository(open_database(settings), prefix=settings.api_key_prefix)


def _open(database_url: str | None, catalog: str | None) -> tuple[ApiKeyRepository, Catalog]:
    settings, scopes_catalog = _settings(database_url, catalog)
    return _repository(settings), scopes_catalog


def _grace_period(grace: str | None) -> timedelta:
    if grace is None:
        return DEFAULT_GRACE
    try:
        period = parse_duration(grace, field="--grace")
    except OAuthError as exc:
        fail(exc.description)
    if period > MAX_GRACE:
        fail(f"--grace may be at most {MAX_GRACE.days} days")
    return period


def _print_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, default=str).decode())


def _print_key(view: dict[str, Any], key: str, as_json: bool) -> None:
    if as_json:
        _print_json({**view, "key": key})
        return
    typer.echo(f"id:         {view['id']}")
    typer.echo(f"scopes:     {' '.join(view['scopes'])}")
    typer.echo(f"expires_at: {view['expires_at'] or 'never'}")
    typer.echo(f"key:        {key}")
    typer.echo(_SHOWN_ONCE, err=True)


@keys_app.command("create", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def keys_create(
    email: Annotated[str, typer.Option("--email", help="The owner's email.")],
    scope: Annotated[list[str], typer.Option(
        "--scope", help="A scope for the key (repeatable; aliases such as `all` accepted).")],
    name: Annotated[str | None, typer.Option("--name", help="A label for people.")] = None,
    expires_in: Annotated[str | None, typer.Option(
        "--expires-in", help="Lifetime: seconds or 30d, 12h, 15m (default 90d).")] = None,
    workspace: Annotated[str | None, typer.Option(
        "--workspace", help="Bind the key to a workspace (id or name) the owner belongs to.")
    ] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key for a user and print it (the key is shown only once)."""
    label = "" if name is None else checked_name(name, "--name", MAX_NAME_LENGTH)
    settings, scopes_catalog = _settings(database_url, catalog)
    try:  # all of the input is checked before the database is opened (or created)
        wanted = requested_key_scopes(scopes_catalog, scopes=scope)
        expires_at = expiry(utcnow(), expires_in=expires_in)
    except OAuthError as exc:
        fail(exc.description)
    repo = _repository(settings)
    try:
        owner = repo.owner_by_email(email)
        if owner is None:
            fail(f"no user with email {email!r}", code=1)
        user_id, role = owner
        roles, workspace_id = [role], None
        if workspace is not None:
            found = repo.workspace_role(user_id, workspace)
            if found is None:
                fail(f"{email} is not a member of workspace {workspace!r}", code=1)
            workspace_id, workspace_role = found
            roles.append(workspace_role)
        capped_by_roles(scopes_catalog, wanted, roles)
        record, key = repo.create(user_id=user_id, name=label, scopes=wanted,
                                  expires_at=expires_at, workspace_id=workspace_id)
    except OAuthError as exc:
        fail(exc.description)
    except ApiKeyError as exc:
        fail(str(exc))
    finally:
        repo.db.dispose()
    _print_key(key_json(scopes_catalog, record, repo.clock()), key, as_json)


@keys_app.command("list", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def keys_list(
    email: Annotated[str | None, typer.Option("--email", help="Only this user's keys.")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """List keys (never their secrets), newest first."""
    repo, scopes_catalog = _open(database_url, catalog)
    try:
        user_id = None
        if email is not None:
            owner = repo.owner_by_email(email)
            if owner is None:
                fail(f"no user with email {email!r}", code=1)
            user_id = owner[0]
        records = repo.list(user_id=user_id)
    finally:
        repo.db.dispose()
    now = repo.clock()
    views = [{**key_json(scopes_catalog, r, now), "owner": r.user_id} for r in records]
    if as_json:
        _print_json(views)
        return
    table = Table("id", "owner", "name", "scopes", "status", "expires", "last used")
    for view in views:
        table.add_row(view["id"], view["owner"], view["name"], " ".join(view["scopes"]),
                      view["status"], str(view["expires_at"] or "never"),
                      str(view["last_used_at"] or "never"))
    Console().print(table)


@keys_app.command("revoke", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`).")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke a key at once (and any secret still in a rotation grace period)."""
    repo, _ = _open(database_url, None)
    try:
        repo.revoke(key_id)
    except ApiKeyNotFound as exc:
        fail(str(exc), code=1)
    finally:
        repo.db.dispose()
    typer.echo(f"revoked {key_id}")


@keys_app.command("rotate", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`).")],
    grace: Annotated[str | None, typer.Option(
        "--grace", help="How long the old secret keeps working (default 24h, max 7d).")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a key a new secret and print it (shown only once)."""
    period = _grace_period(grace)
    repo, scopes_catalog = _open(database_url, catalog)
    try:
        record, key = repo.rotate(key_id, grace=period)
    except ApiKeyNotFound as exc:
        fail(str(exc), code=1)
    except ApiKeyError as exc:
        fail(str(exc))
    finally:
        repo.db.dispose()
    _print_key(key_json(scopes_catalog, record, repo.clock()), key, as_json)


def register(app: typer.Typer) -> None:
    """Attach ``keys`` to the root app."""
    app.add_typer(keys_app, name="keys")
