"""The DPoP key a token request proved, for whatever mints its tokens.

The token endpoint sets it around the grant (``with binding(jkt)``); the issuer reads it,
so every grant, today's and tomorrow's, binds its access token (``cnf.jkt``, RFC 9449 §6)
without passing the key through each one. A context variable: one request's value is never
seen by another, and it is reset when the grant returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["binding", "bound_claims", "bound_jkt"]

_JKT: ContextVar[str | None] = ContextVar("scopegate_dpop_jkt", default=None)


def bound_jkt() -> str | None:
    """The thumbprint of the key the current token request proved, or None (bearer)."""
    return _JKT.get()


@contextmanager
def binding(jkt: str | None) -> Iterator[None]:
    """Bind what is issued inside the block to ``jkt`` (None: bearer tokens)."""
    token = _JKT.set(jkt)
    try:
        yield
    finally:
        _JKT.reset(token)


def bound_claims(extra: Mapping[str, Any] | None) -> tuple[Mapping[str, Any] | None, str]:
    """The claims and ``token_type`` of a token bound to the key the request proved (RFC
    9449 §6: ``cnf.jkt``, ``DPoP``), or of a bearer token."""
    jkt = bound_jkt()
    if jkt is None:
        return extra, "Bearer"
    return {**(extra or {}), "cnf": {"jkt": jkt}}, "DPoP"
