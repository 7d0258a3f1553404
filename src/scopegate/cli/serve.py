"""CLI commands: ``serve``, ``db upgrade|prune`` and ``signing-keys rotate|list``."""

from __future__ import annotations

import inspect
import os
import shutil
import socket
from typing import Annotated, Any

import typer

from ..server.admin.signing_keys import (
    checked_signing_alg,
    list_signing_keys,
    rotate_signing_keys,
)
from ..store.repositories import KeyRecord
from ._common import (
    STORE_FAILURES,
    admin_command,
    connect_database,
    fail,
    fail_unusable,
    load_settings,
    open_catalog,
    open_sealed_store,
    open_store,
    refusals,
    shown,
)
from ._options import DatabaseUrlOption, JsonOption
from ._output import print_json, print_table
from ._settings_flags import setting_parameters

__all__ = ["register"]

SERVE_EXIT_CODES_HELP = (
    "Exit codes: 0 stopped; 1 cannot listen on HOST:PORT (in use, not this machine's); "
    "2 bad input or configuration (a flag, SCOPEGATE_* setting, issuer, catalog, a "
    "database that cannot be opened, a missing or wrong key-encryption key). Errors are "
    "one line on stderr."
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="JWT signing keys.", no_args_is_help=True)


def _check_can_listen(host: str, port: int) -> None:
    """Bind once before starting, so a busy port is one line and exit 1, not uvicorn's
    log lines and exit 3."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        fail(f"--host {shown(host)} is not an address or a name this machine resolves: {exc}")
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}", code=1)


def serve(**flags: Any) -> None:
    """Start the authorization server (creates and upgrades an SQLite database itself)."""
    settings = load_settings(**flags)
    if not settings.host.strip():
        fail("--host needs an address, e.g. 127.0.0.1")
    _check_can_listen(settings.host, settings.port)
    open_catalog(settings.catalog_path)
    with open_store(settings):
        pass  # migrate and create the first keys before workers fork
    os.environ.update(settings.to_env())

    import uvicorn

    from ..server.ops.logs import configure_logging
    from ..server.ops.metrics import prepare_multiprocess_dir

    configure_logging()
    # Several workers share their metrics through files, so /metrics answers for all.
    metrics_dir = prepare_multiprocess_dir(settings.workers)
    typer.echo(f"scopegate listening on http://{settings.host}:{settings.port} "
               f"(issuer {settings.issuer})", err=True)
    # Only a listed proxy may say who the client is; by default the TCP peer is (uvicorn
    # would otherwise believe X-Forwarded-For from 127.0.0.1).
    try:
        uvicorn.run("scopegate.server.app:app_from_env", factory=True, host=settings.host,
                    port=settings.port, workers=settings.workers, loop="uvloop",
                    http="httptools", access_log=False, log_config=None,
                    server_header=False, proxy_headers=bool(settings.forwarded_allow_ips),
                    forwarded_allow_ips=settings.forwarded_allow_ips or None)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


# Typer reads the parameters from the signature: one flag per setting (--access-log is
# one: our structured line replaces uvicorn's, hence access_log=False above).
serve.__signature__ = inspect.Signature(setting_parameters())  # type: ignore[attr-defined]


@admin_command(db_app, "upgrade")
def db_upgrade(database_url: DatabaseUrlOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    settings = load_settings(database_url=database_url)
    db = connect_database(settings.database_url)
    try:
        db.upgrade()
        revision = db.current_revision()
    except STORE_FAILURES as exc:
        fail_unusable(exc)
    finally:
        db.dispose()
    typer.echo(f"database at revision {revision}")


@admin_command(db_app, "prune")
def db_prune(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """Delete expired codes, refresh families, revocations and other dead rows, once.

    A running server does the same pass every minute. For ``api_keys`` it counts keys
    whose rotated-out secret was cleared after its grace period (the keys stay), and
    ``clients`` self-registered public clients unused for SCOPEGATE_REGISTRATION_UNUSED_TTL.
    Work is bounded; when rows remain it says so (``"complete": false``): run it again.
    """
    from ..server.ops.maintenance import prune_expired  # not on every command's import path

    settings = load_settings(database_url=database_url)
    with open_store(settings) as db:
        report = prune_expired(db, unused_client_ttl=settings.registration_unused_ttl)
    if as_json:
        print_json({"pruned": dict(report.pruned), "total": report.total,
                    "complete": report.complete})
        return
    print_table(("table", "rows pruned"),
                ((table, str(count)) for table, count in report.pruned.items()))
    typer.echo(f"{report.total} row(s) pruned")
    if not report.complete:
        typer.echo("more expired rows remain: run `scopegate db prune` again", err=True)


def _key_view(record: KeyRecord) -> dict[str, str]:
    view = {"kid": record.kid, "alg": record.alg}
    if record.publish_until is not None:
        view["publish_until"] = record.publish_until.isoformat()
    return view


@admin_command(keys_app, "rotate")
def keys_rotate(
    database_url: DatabaseUrlOption = None,
    alg: Annotated[str | None, typer.Option(envvar="SCOPEGATE_SIGNING_ALG",
                                            help="ES256 (default) or EdDSA.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Start signing with new keys; old keys stay in JWKS until their tokens expire.

    Both active keys are replaced: the access-token key (ES256 or EdDSA) and the RS256
    key that signs OpenID Connect ID tokens.
    """
    settings = load_settings(database_url=database_url, signing_alg=alg)
    with refusals():  # checked before the database is opened
        checked_signing_alg(settings.signing_alg)
    with open_sealed_store(settings) as (db, keks):
        rotation = rotate_signing_keys(db, keks, settings)
    access, id_token, retired = rotation.access, rotation.id_token, rotation.retired
    if as_json:
        print_json({"access_token_key": _key_view(access), "id_token_key": _key_view(id_token),
                    "retired": [_key_view(r) for r in retired]})
        return
    typer.echo(f"new access-token key {access.kid} ({access.alg})")
    typer.echo(f"new ID-token key     {id_token.kid} ({id_token.alg})")
    until = max((r.publish_until for r in retired if r.publish_until), default=None)
    if until is not None:
        typer.echo(f"the {len(retired)} retired key(s) stay in JWKS until "
                   f"{until.isoformat(timespec='seconds')}")
    typer.echo("running servers pick the new keys up within a minute", err=True)


@admin_command(keys_app, "list")
def keys_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List signing keys: the active one and retired ones still published."""
    with open_sealed_store(load_settings(database_url=database_url)) as (db, keks):
        records = list_signing_keys(db, keks)
    rows = [{"kid": r.kid, "alg": r.alg, "active": r.active,
             "created_at": r.created_at.isoformat(),
             "publish_until": r.publish_until.isoformat() if r.publish_until else None}
            for r in records]
    if as_json:
        print_json(rows)
        return
    print_table(("kid", "alg", "state", "created", "published until"), (
        (str(row["kid"]), str(row["alg"]), "active" if row["active"] else "retired",
         str(row["created_at"])[:19], str(row["publish_until"] or "")[:19]) for row in rows))


def register(app: typer.Typer) -> None:
    """Attach ``serve``, ``db`` and ``signing-keys`` to the root app."""
    app.command("serve", epilog=SERVE_EXIT_CODES_HELP)(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="signing-keys")
