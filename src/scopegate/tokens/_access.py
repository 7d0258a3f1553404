"""RFC 9068 JWT access-token claims."""

from __future__ import annotations

import os
import time
from binascii import b2a_base64
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from ..scopes import format_scope

__all__ = ["ACCESS_TOKEN_TYP", "SUBJECT_TYPES", "SubjectType", "access_token_claims", "new_jti"]

ACCESS_TOKEN_TYP = "at+jwt"
SubjectType = Literal["user", "service"]
SUBJECT_TYPES: frozenset[str] = frozenset(get_args(SubjectType))

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def new_jti() -> str:
    """A random 128-bit token id, base64url without padding (as ``secrets.token_urlsafe(16)``)."""
    return b2a_base64(os.urandom(16), newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def access_token_claims(
    *,
    issuer: str,
    subject: str,
    subject_type: SubjectType,
    client_id: str,
    audience: tuple[str, ...],
    scopes: Iterable[str],
    ttl: int,
    now: int | None = None,
    extra: Mapping[str, Any] | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """Build the RFC 9068 §2.2 claim set.

    :param audience: one or more resources; a single one is emitted as a string.
    :param scopes: canonical names, emitted space-delimited and sorted.
    :param extra: more claims; they never override the registered ones.
    :param scope: ``format_scope(scopes)`` when the caller already has it (hot path).
    """
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience[0] if len(audience) == 1 else list(audience),
        "exp": issued + ttl,
        "iat": issued,
        "jti": new_jti(),
        "client_id": client_id,
        "scope": format_scope(scopes) if scope is None else scope,
        "subject_type": subject_type,
    }
    if extra:
        claims = {**extra, **claims}
    return claims
