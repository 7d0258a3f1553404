"""CLI commands: ``keys create|list|revoke|rotate`` manage users' API keys.

The same rules as ``POST /api/v1/keys`` (``server.admin.keys``): canonical names or
aliases in, canonical stored, public scopes only, never beyond the owner's role. Exit
codes: 0 done, 1 no such user or key, 2 bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from ..scopes import Catalog
from ..server.admin.errors import NotAMember
from ..server.admin.keys import (
    KeyStore,
    NewKey,
    grace_period,
    key_json,
    key_store,
    list_keys,
    owner_id,
    plan_key,
    revoke_key,
    rotate_key,
    store_key,
)
from ..server.config.settings import Settings
from ..store.models import utcnow
from ._common import (
    EXIT_FAILED,
    admin_command,
    checked_name,
    fail,
    load_settings,
    open_catalog,
    open_store,
    refusals,
    shown,
)
from ._options import CatalogOption, DatabaseUrlOption, JsonOption
from ._output import print_json, print_listing

__all__ = ["register"]

keys_app = typer.Typer(help="Users' API keys.", no_args_is_help=True)
MAX_NAME_LENGTH = 100
_SHOWN_ONCE = "Store the key now: it is kept only as a hash and never shown again."


def _settings(database_url: str | None, catalog: str | None) -> tuple[Settings, Catalog]:
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    return settings, open_catalog(settings.catalog_path)


@contextmanager
def _keys(settings: Settings) -> Iterator[KeyStore]:
    """The key repository; a missing user or key exits 1, a refused input 2."""
    with open_store(settings) as db, refusals():
        yield key_store(db, settings.api_key_prefix)


def _print_key(view: dict[str, Any], key: str, as_json: bool) -> None:
    if as_json:
        print_json({**view, "key": key})
        return
    typer.echo(f"id:         {view['id']}")
    typer.echo(f"scopes:     {' '.join(view['scopes'])}")
    typer.echo(f"expires_at: {view['expires_at'] or 'never'}")
    typer.echo(f"key:        {key}")
    typer.echo(_SHOWN_ONCE, err=True)


@admin_command(keys_app, "create")
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
    with refusals():  # all input is checked before the store is opened
        plan = plan_key(scopes_catalog, NewKey(name=label, scopes=scope,
                                               expires_in=expires_in, workspace=workspace),
                        utcnow())
    with _keys(settings) as repo:
        try:
            record, key = store_key(repo, scopes_catalog, plan, owner_id(repo, email))
        except NotAMember:
            fail(f"{email} is not a member of workspace {shown(str(workspace))}",
                 code=EXIT_FAILED)
    _print_key(key_json(scopes_catalog, record, repo.clock()), key, as_json)


@admin_command(keys_app, "list")
def keys_list(
    email: Annotated[str | None, typer.Option("--email", help="Only this user's keys.")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """List keys (never their secrets), newest first."""
    settings, scopes_catalog = _settings(database_url, catalog)
    with _keys(settings) as repo:
        user_id = None if email is None else owner_id(repo, email)
        records = list_keys(repo, user_id=user_id)
    now = repo.clock()
    views = [{**key_json(scopes_catalog, r, now), "owner": r.user_id} for r in records]
    print_listing(as_json, views, view=lambda v: v,
                  columns=("id", "owner", "name", "scopes", "status", "expires", "last used"),
                  row=lambda v: (v["id"], v["owner"], v["name"], " ".join(v["scopes"]),
                                 v["status"], str(v["expires_at"] or "never"),
                                 str(v["last_used_at"] or "never")))


@admin_command(keys_app, "revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`).")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke a key at once (and any secret still in a rotation grace period)."""
    with _keys(load_settings(database_url=database_url)) as repo:
        revoke_key(repo, key_id)
    typer.echo(f"revoked {key_id}")


@admin_command(keys_app, "rotate")
def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`).")],
    grace: Annotated[str | None, typer.Option(
        "--grace", help="How long the old secret keeps working (default 24h, max 7d).")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a key a new secret and print it (shown only once)."""
    with refusals():
        period = grace_period(grace, field="--grace")
    settings, scopes_catalog = _settings(database_url, catalog)
    with _keys(settings) as repo:
        record, key = rotate_key(repo, scopes_catalog, key_id, period)
    _print_key(key_json(scopes_catalog, record, repo.clock()), key, as_json)


def register(app: typer.Typer) -> None:
    """Attach ``keys`` to the root app."""
    app.add_typer(keys_app, name="keys")
