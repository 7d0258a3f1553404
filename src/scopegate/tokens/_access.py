"""RFC 9068 JWT access-token claims."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ..scopes import format_scope

__all__ = ["ACCESS_TOKEN_TYP", "SubjectType", "access_token_claims"]

ACCESS_TOKEN_TYP = "at+jwt"
SubjectType = Literal["user", "service"]


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
) -> dict[str, Any]:
    """Build the RFC 9068 §2.2 claim set.

    :param audience: one or more resources; a single one is emitted as a string.
    :param scopes: canonical names, emitted space-delimited and sorted.
    :param extra: more claims; they never override the registered ones.
    """
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = dict(extra) if extra else {}
    claims.update({
        "iss": issuer,
        "sub": subject,
        "aud": audience[0] if len(audience) == 1 else list(audience),
        "exp": issued + ttl,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "client_id": client_id,
        "scope": format_scope(scopes),
        "subject_type": subject_type,
    })
    return claims
