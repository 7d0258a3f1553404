"""User commands: ``login``, ``logout``, ``status`` and ``token``.

Exit codes (scripts may rely on them):

    0  success
    1  authentication failed (refused, expired, not logged in, declined scopes)
    2  usage or configuration error (bad option, bad --scope, bad config file)
    4  step-up required: scopes are missing and this session cannot log in
       (no TTY, or CI set); the message carries the `scopegate login ...` to run

Errors are printed as one line on stderr, never a traceback. Whatever the server says
(error descriptions, subjects, scopes) is printed through ``terminal_text``: no control
characters, escape sequences, line breaks or rich markup reach the terminal.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from typing import Annotated

import httpx
import typer

from scopegate.client import (
    ClientError,
    Token,
    TokenEndpointError,
    session_from_env,
    terminal_text,
)
from scopegate.client._exceptions import RevocationError, login_command
from scopegate.client._factory import EnvSession
from scopegate.client._flow import drive_sync
from scopegate.client._login import login_flow
from scopegate.client._revocation import revoke_flow
from scopegate.scopes import ScopeSet, format_scope

from ._account import account_name, token_view, when, with_account
from ._user_io import err, error, friendly, out, warn
from ._user_options import ApiOption, ClientIdOption, EnvOption, ScopeOption

__all__ = ["EXIT_CODES_HELP", "register"]

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 authentication failed, 2 usage or config error, "
    "4 step-up required (run the printed `scopegate login ...`)."
)


def _default_http_client() -> httpx.Client:
    return httpx.Client(timeout=30)


#: Builds the HTTP client for token requests; tests replace it with a MockTransport one.
http_client_factory: Callable[[], httpx.Client] = _default_http_client
#: How the device flow waits between polls; tests replace it.
sleep: Callable[[float], None] = time.sleep

#: RFC 6749 Appendix A.12: an access token is visible ASCII (and spaces).
_VSCHAR = re.compile(r"[\x20-\x7e]+")

def _session(env: str | None, scopes: list[str], **kwargs: object) -> tuple[EnvSession, list[str]]:
    """Build the session; return it with the scopes to require on top of its own.

    For client credentials an explicit --scope wins the precedence (it may narrow);
    for interactive logins it adds to what the session already asks (a step-up). Either
    way every --scope is required: a token lacking one is neither reused nor accepted.
    """
    session = session_from_env(env, **kwargs)  # type: ignore[arg-type]
    if scopes and session.provider.silent:
        return session_from_env(env, scopes=scopes, **kwargs), scopes  # type: ignore[arg-type]
    return session, scopes


@friendly
def login(
    env: EnvOption = None,
    scope: ScopeOption = None,
    api: ApiOption = None,
    client_id: ClientIdOption = None,
    device: Annotated[bool, typer.Option("--device", help="Use the device flow.")] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the login URL instead of opening it.")
    ] = False,
    max_age: Annotated[int | None, typer.Option(
        "--max-age", min=0, help="Sign in afresh if your sign-in is older than this many "
        "seconds (0: always enter the password), as an API asking for a recent sign-in "
        "wants (RFC 9470).")] = None,
) -> None:
    """Log in to an environment, or to an API by its URL alone, and store the session."""
    session, extra = _session(env, scope or [], api_url=api, client_id=client_id,
                              interactive=True, device=device, open_browser=not no_browser)
    with http_client_factory() as http:
        token = drive_sync(login_flow(session, extra, max_age), http.send, session.locks, sleep)
        named = with_account(session.provider, token, http.send, session.locks)
    if named is not None:  # kept with the token, so `status` names the account too
        session.cache.save(named)
        token = named
    who = terminal_text(account_name(token))
    err.print(
        f"[green]✓[/] Logged in to [bold]{terminal_text(session.env.name)}[/] as [bold]{who}[/] "
        f"with scopes: {terminal_text(format_scope(token.scopes))}",
        highlight=False,
    )


def _revoke(session: EnvSession, tokens: list[Token]) -> str | None:
    """Revoke each token at the server (RFC 7009); return why that failed, if it did."""
    problems: list[str] = []
    with http_client_factory() as http:
        for token in tokens:
            try:
                if not drive_sync(revoke_flow(session.provider, token), http.send, session.locks):
                    warn("the server offers no token revocation; the tokens stay valid "
                         "until they expire")
                    return None
            except RevocationError as exc:
                problems.append(str(exc))
            except (httpx.HTTPError, ClientError) as exc:
                problems.append(f"could not revoke at the server: {exc}")
    return problems[0] if problems else None


@friendly
def logout(env: EnvOption = None, api: ApiOption = None,
           client_id: ClientIdOption = None) -> None:
    """Revoke this environment's tokens at the server and forget them here.

    The tokens are removed from this machine even when the server does not revoke
    them; then the command says so and exits 1.
    """
    session, _ = _session(env, [], api_url=api, client_id=client_id)
    session.cache.reload()
    tokens = session.cache.tokens(session.provider.issuer, session.provider.client_id)
    problem = _revoke(session, tokens) if tokens else None
    removed = session.cache.remove(session.provider.issuer, session.provider.client_id)
    name = terminal_text(session.env.name)
    if problem is not None:
        error(f"{problem}; it is still valid until it expires. Removed {removed} token(s) "
               f"of {session.env.name} from this machine.")
        raise typer.Exit(1)
    err.print(f"Logged out of [bold]{name}[/] ({removed} token(s) removed)", highlight=False)


@friendly
def status(
    env: EnvOption = None,
    api: ApiOption = None,
    client_id: ClientIdOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show who is logged in, the granted scopes, the audience and the expiry."""
    session, _ = _session(env, [], api_url=api, client_id=client_id)
    session.cache.reload()
    now = time.time()
    tokens = session.cache.tokens(session.provider.issuer, session.provider.client_id)
    rows = [
        {
            "environment": session.env.name,
            "issuer": token.issuer,
            "client_id": token.client_id,
            "account": account_name(token),
            "subject": token.subject,
            "scopes": ScopeSet(token.scopes).to_list(),
            "audience": list(token.audience),
            "expires_at": when(token.expires_at),
            "valid": token.is_valid(now, session.cache.margin),
            "refreshable": token.refresh_token is not None,
        }
        for token in tokens
    ]
    if as_json:
        sys.stdout.write(json.dumps({"logged_in": bool(rows), "tokens": rows}, indent=2) + "\n")
    elif not rows:
        out.print(f"Not logged in to {terminal_text(session.env.name)}; run: "
                  f"{terminal_text(login_command(session.env.name))}", highlight=False)
    for row in [] if as_json else rows:
        state = "valid" if row["valid"] else "expired"
        who = terminal_text(row["account"])
        out.print(
            f"[bold]{who}[/] @ {terminal_text(row['environment'])} "
            f"({state}, expires {row['expires_at'] or 'never'})\n"
            f"  scopes:   {terminal_text(' '.join(row['scopes']))}\n"  # type: ignore[arg-type]
            f"  audience: {terminal_text(' '.join(row['audience']) or '-')}",  # type: ignore[arg-type]
            highlight=False,
        )
    if not rows:
        raise typer.Exit(1)


@friendly
def token(
    env: EnvOption = None,
    scope: ScopeOption = None,
    api: ApiOption = None,
    client_id: ClientIdOption = None,
    decode: Annotated[
        bool, typer.Option("--decode", help="Print the token's claims (unverified) as JSON.")
    ] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON for scripts: token, token_type, expires_at, scopes.")] = False,
) -> None:
    """Print an access token covering the given scopes (stepping up if needed)."""
    if decode and as_json:
        raise typer.BadParameter("choose one of --decode and --json", param_hint="--json")
    session, required = _session(env, scope or [], api_url=api, client_id=client_id)
    with http_client_factory() as http:
        found = session.get_token(required, http=http, sleep=sleep)
    if decode:
        claims = found.claims() or {"opaque": True, "scope": format_scope(found.scopes)}
        sys.stdout.write(json.dumps(claims, indent=2, sort_keys=True) + "\n")
    elif not _VSCHAR.fullmatch(found.access_token):
        raise TokenEndpointError(  # printed raw it could drive the terminal
            "invalid_response", "the access token has characters RFC 6749 does not allow"
        )
    elif as_json:
        sys.stdout.write(json.dumps(token_view(found), indent=2) + "\n")
    else:
        sys.stdout.write(found.access_token + "\n")


def register(app: typer.Typer) -> None:
    """Attach ``login``, ``logout``, ``status`` and ``token`` to the root app."""
    for command in (login, logout, status, token):
        app.command(epilog=EXIT_CODES_HELP)(command)
