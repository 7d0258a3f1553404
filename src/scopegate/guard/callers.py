"""Typed callers: who is calling, mounted from the token and nothing else.

A user's token, a client-credentials (service) token and an API key arrive as distinct
types so a handler can ``match`` on them instead of guessing from claims.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AccountCaller", "ApiKeyCaller", "Caller", "ServiceCaller"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Common fields of every caller.

    :param subject: the token's ``sub`` (a user id, or the client id for a service).
    :param client_id: the OAuth client the token was issued to.
    :param scopes: the granted scopes, expanded through the catalog.
    :param workspace: the workspace the token is bound to, if any.
    :param actor: the client acting for the subject (``act.sub``, RFC 8693 §4.1) when the
        token came from a token exchange, else None.
    """

    subject: str
    client_id: str
    scopes: frozenset[str]
    workspace: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class AccountCaller(Caller):
    """A user acting through a client (authorization code or device flow)."""


@dataclass(frozen=True, slots=True)
class ServiceCaller(Caller):
    """A client acting on its own behalf (client credentials)."""


@dataclass(frozen=True, slots=True)
class ApiKeyCaller(Caller):
    """An API key; ``subject`` is the key's owner."""
