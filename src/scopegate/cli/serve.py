"""CLI commands: ``serve``, ``db upgrade|prune`` and ``signing-keys rotate|list``."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from ..server.admin.signing_keys import (
    checked_signing_alg,
    list_signing_keys,
    rotate_signing_keys,
)
from ..store.repositories import KeyRecord
from ._common import (
    STORE_FAILURES,
    CatalogOption,
    DatabaseUrlOption,
    JsonOption,
    KekFileOption,
    admin_command,
    connect_database,
    fail,
    fail_unusable,
    load_settings,
    open_catalog,
    open_sealed_store,
    open_store,
    print_json,
    print_table,
    refusals,
    shown,
)

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


def serve(
    host: Annotated[str | None, typer.Option(envvar="SCOPEGATE_HOST",
                                             help="Interface (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(envvar="SCOPEGATE_PORT",
                                             help="TCP port (default 8000).")] = None,
    database_url: DatabaseUrlOption = None,
    issuer: Annotated[str | None, typer.Option(
        envvar="SCOPEGATE_ISSUER", help="Public base URL (default http://HOST:PORT).")] = None,
    catalog: CatalogOption = None,
    workers: Annotated[int | None, typer.Option(envvar="SCOPEGATE_WORKERS",
                                                help="Worker processes (default 1).")] = None,
    kek_file: KekFileOption = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        envvar="SCOPEGATE_FORWARDED_ALLOW_IPS",
        help="Proxies (addresses or networks, comma-separated, or *) whose X-Forwarded-For "
             "and X-Forwarded-Proto are believed (default: none; the client is the TCP "
             "peer).")] = None,
    login_failures_per_account_address: Annotated[int | None, typer.Option(
        envvar="SCOPEGATE_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS",
        help="Wrong passwords for one account from one address before each further try "
             "waits (default 5).")] = None,
    login_failures_per_address: Annotated[int | None, typer.Option(
        envvar="SCOPEGATE_LOGIN_FAILURES_PER_ADDRESS",
        help="Wrong passwords from one address, any accounts, before each further try "
             "waits (default 100).")] = None,
    login_first_wait: Annotated[float | None, typer.Option(
        envvar="SCOPEGATE_LOGIN_FIRST_WAIT",
        help="Seconds of the first wait, doubled per further failure (default 1).")] = None,
    login_max_wait: Annotated[float | None, typer.Option(
        envvar="SCOPEGATE_LOGIN_MAX_WAIT",
        help="Longest wait in seconds (default 900).")] = None,
    login_failure_reset: Annotated[float | None, typer.Option(
        envvar="SCOPEGATE_LOGIN_FAILURE_RESET",
        help="Seconds without an attempt after which failures are forgotten "
             "(default 43200).")] = None,
    session_idle_ttl: Annotated[int | None, typer.Option(
        envvar="SCOPEGATE_SESSION_IDLE_TTL",
        help="Seconds an unused browser session lasts (default 1800).")] = None,
    session_absolute_ttl: Annotated[int | None, typer.Option(
        envvar="SCOPEGATE_SESSION_ABSOLUTE_TTL",
        help="Seconds a browser session lasts after sign-in (default 43200).")] = None,
) -> None:
    """Start the authorization server (creates and upgrades an SQLite database itself)."""
    settings = load_settings(
        host=host, port=port, database_url=database_url, issuer=issuer, catalog_path=catalog,
        workers=workers, kek_file=kek_file, forwarded_allow_ips=forwarded_allow_ips,
        login_failures_per_account_address=login_failures_per_account_address,
        login_failures_per_address=login_failures_per_address,
        login_first_wait=login_first_wait, login_max_wait=login_max_wait,
        login_failure_reset=login_failure_reset,
        session_idle_ttl=session_idle_ttl, session_absolute_ttl=session_absolute_ttl)
    if not settings.host.strip():
        fail("--host needs an address, e.g. 127.0.0.1")
    _check_can_listen(settings.host, settings.port)
    open_catalog(settings.catalog_path)
    with open_store(settings):
        pass  # migrate and create the first keys before workers fork
    os.environ.update(settings.to_env())

    import uvicorn

    from ..server.ops.logs import configure_logging

    configure_logging()
    typer.echo(f"scopegate listening on http://{settings.host}:{settings.port} "
               f"(issuer {settings.issuer})", err=True)
    # Only a listed proxy may say who the client is; by default the TCP peer is (uvicorn
    # would otherwise believe X-Forwarded-For from 127.0.0.1).
    uvicorn.run("scopegate.server.app:app_from_env", factory=True, host=settings.host,
                port=settings.port, workers=settings.workers, loop="uvloop", http="httptools",
                access_log=access_log, log_config=None, server_header=False,
                proxy_headers=bool(settings.forwarded_allow_ips),
                forwarded_allow_ips=settings.forwarded_allow_ips or None)


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
