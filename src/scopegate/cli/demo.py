"""``scopegate demo``: issue a scope, call an API, get refused, step up and succeed.

It asks nothing and needs no browser. On a temporary SQLite database it starts the real
authorization server and the example API on free loopback ports, registers a
client-credentials client, and walks through the scope life cycle with the SDK:

1. issue: a token for ``api apps:read`` (its ``aud`` comes from the ``api`` scope);
2. call: ``GET`` an ``apps:read`` route, 200;
3. refuse: the ``apps:run`` route answers 403 with an ``insufficient_scope`` challenge;
4. step up: the SDK requests configured + granted + required, gets ``apps:run``, and
   retries the call once, 200;
5. delegate: the example API calls a second API, "reports", for the caller with a token
   exchanged for theirs (RFC 8693): reports sees the caller as ``sub``, the API as ``act``
   (``cli/_demo_delegation.py``).
6. sender-constrained: the same call with a DPoP-bound token (RFC 9449), 200, and that
   token without its key, 401.

Then it stops the services (``--keep`` leaves them running and prints how to use them).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from .._extras import require_extra
from ..client import (
    ApiClient,
    ClientCredentialsProvider,
    ClientError,
    Token,
    TokenSession,
    terminal_text,
)
from ..client._challenges import insufficient_scope
from ..client._providers import CLIENT_CREDENTIALS_DEFAULT_SCOPES
from ..scopes import ScopeError, format_scope, load_catalog
from ..server.admin.client_spec import client_spec
from ..server.admin.clients import client_pepper, register_client
from ..server.admin.errors import Invalid
from ..server.config.settings import Settings
from ..server.state import prepare_database
from ..store import Database, DatabaseError
from ._demo_delegation import DelegationFailed, delegated_call, register_delegation, start_reports
from ._demo_keep import leave_running
from ._local_stack import LocalService, ServiceError, start_auth_server, start_example_api

require_extra("scopegate demo", "fastapi", "fastapi")  # its example API is a FastAPI app

__all__ = ["CLIENT_SCOPES", "REQUESTED_SCOPES", "DemoFailed", "register"]

#: The scopes the example API's routes require (examples/example_api.py).
READ_SCOPE = "apps:read"
RUN_SCOPE = "apps:run"
#: What the demo client asks for at first (the SDK's defaults put the API audience in
#: ``aud``), and what it may be granted (a step-up adds the run scope).
REQUESTED_SCOPES = (*CLIENT_CREDENTIALS_DEFAULT_SCOPES, READ_SCOPE)
CLIENT_SCOPES = (*REQUESTED_SCOPES, RUN_SCOPE)
READ_PATH = "/workspaces/demo/apps"
RUN_PATH = "/workspaces/demo/apps/hello/run"


class DemoFailed(Exception):
    """A demo step did not see what it should have (the message says which and what)."""


def _register_client(database_url: str) -> tuple[str, str]:
    """Create the demo's confidential client, as ``scopegate clients create`` would."""
    settings = Settings.from_env(database_url=database_url)
    spec = client_spec(load_catalog(settings.catalog_path), name="scopegate demo",
                       scopes=CLIENT_SCOPES)
    db = Database(settings.database_url)
    try:
        keks = prepare_database(db, settings)
        record, secret = register_client(db, client_pepper(db, keks), spec)
    finally:
        db.dispose()
    return record.client_id, secret


class _Trace:
    """httpx event hooks printing each exchange, so the step-up's requests are visible."""

    def __init__(self, console: Console, issuer: str) -> None:
        self.console = console
        self.issuer = issuer

    def request(self, request: httpx.Request) -> None:
        line = f"  → {request.method} {request.url.path}"
        if str(request.url).startswith(self.issuer):
            form = urllib.parse.parse_qs(request.content.decode("ascii", "replace"))
            grant = form.get("grant_type", ["?"])[0]
            line += f"  grant_type={grant} scope=[bold]{form.get('scope', [''])[0]}[/]"
        self.console.print(line, highlight=False, soft_wrap=True)

    def response(self, response: httpx.Response) -> None:
        line = f"  ← {response.status_code} {terminal_text(response.reason_phrase)}"
        challenge = response.headers.get("www-authenticate")
        if challenge:
            line += f"  WWW-Authenticate: {terminal_text(challenge)}"
        self.console.print(line, highlight=False, soft_wrap=True)


def _show_token(console: Console, token: Token) -> dict[str, Any]:
    claims = token.claims()
    aud = claims.get("aud")
    shown = terminal_text(" ".join(map(str, aud)) if isinstance(aud, list) else aud)
    console.print(f"  aud:   [bold]{shown}[/]", highlight=False, soft_wrap=True)
    console.print(f"  scope: [bold]{terminal_text(claims.get('scope'))}[/]", highlight=False,
                  soft_wrap=True)
    console.print(f"  sub:   {terminal_text(claims.get('sub'))}   "
                  f"client_id: {terminal_text(claims.get('client_id'))}",
                  highlight=False, soft_wrap=True)
    return claims


def _expect(step: str, response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise DemoFailed(f"{step}: expected HTTP {status}, got {response.status_code}: "
                         f"{response.text[:200]}")


def _step(console: Console, number: int, title: str) -> None:
    console.print()
    console.rule(f"[bold]({number}) {title}", align="left")


def _walk_through(console: Console, issuer: str, api_url: str, client_id: str,
                  secret: str) -> None:
    """Run the four steps against the running services."""
    provider = ClientCredentialsProvider(issuer, client_id, secret, scopes=REQUESTED_SCOPES)
    session = TokenSession(provider, interactive=False)  # memory cache: nothing on disk

    _step(console, 1, f"issue: a client-credentials token for '{format_scope(REQUESTED_SCOPES)}'")
    token = session.get_token()
    claims = _show_token(console, token)
    if RUN_SCOPE in token.scopes or READ_SCOPE not in token.scopes:
        raise DemoFailed(f"issue: unexpected scopes {format_scope(token.scopes)}")
    console.print(f"  [green]✓[/] the [bold]{format_scope(CLIENT_CREDENTIALS_DEFAULT_SCOPES)}[/]"
                  " scope put the API audience in aud "
                  f"({terminal_text(claims.get('aud'))})", highlight=False, soft_wrap=True)

    trace = _Trace(console, issuer)
    hooks = {"request": [trace.request], "response": [trace.response]}
    with ApiClient(session, base_url=api_url, event_hooks=hooks, timeout=10) as api:
        _step(console, 2, f"call: GET {READ_PATH} (needs {READ_SCOPE})")
        listed = api.get(READ_PATH)
        _expect("call", listed, 200)
        names = terminal_text(", ".join(str(app["name"]) for app in listed.json()["apps"]))
        console.print(f"  [green]✓[/] 200 OK, the cached token was reused; apps: {names}",
                      highlight=False, soft_wrap=True)

        _step(console, 3, f"call: POST {RUN_PATH} (needs {RUN_SCOPE}) with the same token")
        refused = httpx.post(api_url + RUN_PATH, json={},
                             headers={"Authorization": f"Bearer {token.access_token}"},
                             timeout=10)
        _expect("refuse", refused, 403)
        challenge = refused.headers.get("www-authenticate", "")
        if insufficient_scope([challenge]) is None:
            raise DemoFailed(f"refuse: no insufficient_scope challenge (got {challenge!r})")
        console.print(f"  [red]✗[/] 403 Forbidden\n  WWW-Authenticate: "
                      f"[bold]{terminal_text(challenge)}[/]",
                      highlight=False, soft_wrap=True)

        _step(console, 4, "step-up: the SDK asks for configured + granted + required, "
                          "then retries once")
        ran = api.post(RUN_PATH, json={"inputs": {"greeting": "hello"}})
        _expect("step-up", ran, 200)
        stepped = session.cached(frozenset({RUN_SCOPE}))
        if stepped is None:
            raise DemoFailed(f"step-up: the session holds no token with {RUN_SCOPE}")
        _show_token(console, stepped)
        console.print(f"  [green]✓[/] 200 OK after the step-up: "
                      f"{terminal_text(json.dumps(ran.json()))}",
                      highlight=False, soft_wrap=True)


def _dpop_call(console: Console, issuer: str, api_url: str, client_id: str,
               secret: str) -> None:
    """6. The same read with a DPoP-bound token (RFC 9449): useless without the SDK's key."""
    _step(console, 6, "sender-constrained: a DPoP-bound token (RFC 9449), then stolen")
    provider = ClientCredentialsProvider(issuer, client_id, secret, scopes=REQUESTED_SCOPES)
    session = TokenSession(provider, interactive=False, dpop=True)  # key in memory only
    with ApiClient(session, base_url=api_url, timeout=10) as api:
        _expect("dpop", api.get(READ_PATH), 200)
    token = session.get_token()
    stolen = httpx.get(api_url + READ_PATH, timeout=10,
                       headers={"Authorization": f"Bearer {token.access_token}"})
    _expect("dpop", stolen, 401)
    jkt = terminal_text(str(token.claims().get("cnf", {}).get("jkt")))
    console.print(f"  [green]✓[/] 200 OK with a {token.token_type} token bound to key {jkt}; "
                  "the same token without the key: [red]401[/]", highlight=False,
                  soft_wrap=True)


def _start_services(console: Console, database_url: str, workdir: Path, keep: bool,
                    services: list[LocalService]) -> dict[str, str]:
    """Start the server, the example API and reports (in ``services``, in that order);
    return the example API's guard settings."""
    guard_env = register_delegation(database_url)
    auth = start_auth_server(database_url, workdir, detach=keep)
    services.append(auth)
    console.print(f"authorization server: {auth.url}", soft_wrap=True)
    services.append(start_reports(auth.url, workdir, detach=keep))
    api = start_example_api(auth.url, workdir, detach=keep, extra_env={
        **guard_env, "SCOPEGATE_EXAMPLE_DOWNSTREAM_URL": services[1].url})
    services.insert(1, api)  # services[1] is the example API (--keep's config)
    console.print(f"example API:          {api.url} (trusts {auth.url}; delegates to "
                  f"reports API {services[2].url})", soft_wrap=True)
    return guard_env


EXIT_CODES_HELP = ("Exit codes: 0 the demo ran every step; 1 a step failed or a service did "
                   "not start; 2 a bad catalog or SCOPEGATE_* setting.")


def demo(
    keep: Annotated[bool, typer.Option(
        "--keep", help="Leave the server and the example APIs running and print their URLs.")
    ] = False,
) -> None:
    """Show the scope life cycle end to end on this machine (no browser, no questions)."""
    console = Console(highlight=False)
    workdir = Path(tempfile.mkdtemp(prefix="scopegate-demo-"))
    services: list[LocalService] = []
    ok = False
    try:
        console.print(f"[bold]scopegate demo[/]: a temporary SQLite database in {workdir}",
                      soft_wrap=True)
        database_url = f"sqlite:///{workdir / 'scopegate.db'}"
        client_id, secret = _register_client(database_url)
        console.print(f"registered client [bold]{client_id}[/] (client_credentials; may use: "
                      f"{format_scope(CLIENT_SCOPES)})", soft_wrap=True)
        guard_env = _start_services(console, database_url, workdir, keep, services)
        auth, api = services[0], services[1]
        _walk_through(console, auth.url, api.url, client_id, secret)
        _step(console, 5, "delegate: the example API calls reports for its caller "
                          "(token exchange)")
        delegated_call(console, auth.url, api.url, client_id, secret, REQUESTED_SCOPES,
                       guard_env)
        _dpop_call(console, auth.url, api.url, client_id, secret)
        ok = True
    except (ScopeError, ValueError, Invalid) as exc:  # a bad catalog or SCOPEGATE_* setting
        Console(stderr=True).print(f"[red]error:[/] demo cannot start: {terminal_text(exc)}",
                                   highlight=False,
                                   soft_wrap=True)
        raise typer.Exit(2) from None
    except (ServiceError, DemoFailed, DelegationFailed, ClientError, httpx.HTTPError,
            DatabaseError) as exc:
        Console(stderr=True).print(f"[red]error:[/] demo failed: {terminal_text(exc)}",
                                   highlight=False,
                                   soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        if ok and keep:
            leave_running(console, services, workdir, (client_id, secret), REQUESTED_SCOPES,
                          RUN_SCOPE)
        else:
            for service in reversed(services):
                service.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    console.print()
    if keep:
        console.print("[green]demo complete[/]; the services are still running.")
    else:
        console.print("[green]demo complete[/]: all services stopped, temporary data removed.")


def register(app: typer.Typer) -> None:
    """Attach ``demo`` to the root app."""
    app.command("demo", epilog=EXIT_CODES_HELP)(demo)
