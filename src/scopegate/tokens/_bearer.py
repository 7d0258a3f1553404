"""The one reader of ``Authorization: Bearer`` credentials (RFC 6750 §2.1).

``credentials = "Bearer" 1*SP b64token``: the scheme is case-insensitive (RFC 9110
§11.1), the token one ``b64token`` (token68) with at most ``max_length`` characters.
Reading is two steps so each caller can answer as RFC 6750 §3.1 says: no Bearer
credentials at all gets a bare challenge (:func:`parse_bearer` returns None), a
malformed token an ``invalid_token`` error (:func:`check_bearer_token` raises). A
request with two ``Authorization`` headers is the caller's to refuse: pass one value.
"""

from __future__ import annotations

import re

from ._jws import TokenVerificationError

__all__ = ["MAX_BEARER_LENGTH", "check_bearer_token", "parse_bearer"]

MAX_BEARER_LENGTH = 8192
"""Longest bearer token read; ours are under 1 KiB, and longer ones are refused unread."""

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def parse_bearer(header: str | None) -> str | None:
    """Return the credentials of a ``Bearer`` ``Authorization`` header value, else None.

    None means no Bearer credentials: no header, another scheme, or nothing after the
    scheme. The credentials are returned as sent; :func:`check_bearer_token` judges them.
    """
    if not header or len(header) < 8 or header[6] != " " or header[:6].lower() != "bearer":
        return None
    return header[7:].strip() or None


def check_bearer_token(token: str, max_length: int = MAX_BEARER_LENGTH) -> str:
    """Return ``token`` if it is one ``b64token`` of at most ``max_length`` characters.

    :raises TokenVerificationError: ``malformed bearer token`` (an ``invalid_token``).
    """
    if len(token) > max_length or not _B64TOKEN.fullmatch(token):
        raise TokenVerificationError("malformed bearer token")
    return token
