"""Who a token belongs to, in the words a person knows: an email, not a user id.

Like MSAL's ``account.username``: the ID token's ``email`` (or ``preferred_username``,
see ``Token.account``); failing that, the issuer's OpenID Connect UserInfo answer at
login, kept with the token for ``status``; failing that, the subject. Claims only label
what is printed, never decide anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from scopegate.client import ClientError, Token
from scopegate.client._discovery import json_body
from scopegate.client._flow import Flow, drive_sync
from scopegate.client._http import Sender
from scopegate.client._locks import LockRegistry
from scopegate.client._providers import TokenProvider
from scopegate.client._tokens import account_from_claims
from scopegate.scopes import OPENID, ScopeSet

__all__ = ["account_name", "token_view", "when", "with_account"]


def account_name(token: Token) -> str:
    """The account in words (email), else the subject, else the client id (a machine)."""
    return token.account or token.subject or token.client_id


def _userinfo_flow(provider: TokenProvider, token: Token) -> Flow[Mapping[str, Any]]:
    """GET the UserInfo endpoint (OIDC Core §5.3) with the token, no redirect followed."""
    metadata = yield from provider.metadata_flow()
    if not isinstance(metadata.get("userinfo_endpoint"), str):
        return {}
    url = yield from provider.endpoint_flow("userinfo_endpoint")
    request = provider._request("GET", url, Authorization=f"Bearer {token.access_token}")
    response = yield from provider._exchange(request)
    body = json_body(response) if response.status_code == 200 else {}
    # §5.3.2: an answer about another subject than the token's is not to be used.
    return body if token.subject in (None, body.get("sub")) else {}


def with_account(provider: TokenProvider, token: Token, send: Sender,
                 locks: LockRegistry) -> Token | None:
    """The token named by its UserInfo email, when its ID token named nobody; else None.

    Best effort: the login itself succeeded, so a failure only leaves the subject shown.
    """
    if token.account or OPENID not in token.scopes:
        return None
    try:
        info = drive_sync(_userinfo_flow(provider, token), send, locks)
    except (httpx.HTTPError, ClientError):
        return None
    name = account_from_claims(info)
    return replace(token, account=name) if name else None


def when(timestamp: float | None) -> str | None:
    """A POSIX time as ISO 8601 in UTC (None stays None)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def token_view(token: Token) -> dict[str, Any]:
    """``scopegate token --json``: the access token and what a script needs to use it.

    Never the refresh or ID token: those are this machine's secrets, not the caller's.
    """
    return {"token": token.access_token, "token_type": token.token_type,
            "expires_at": when(token.expires_at), "scopes": ScopeSet(token.scopes).to_list()}
