"""The token the client holds: parsed from a token response, stored, and loaded back.

Claims are read WITHOUT verifying the signature: the client only uses them to decide
whether to reuse or step up a token; the resource server is the one that verifies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jwt

from scopegate.scopes import (
    ScopeError,
    granted_from_claims,
    scope_set,
    scope_set_hash,
    scopes_from_value,
)

from ._exceptions import TokenEndpointError

__all__ = ["Token", "decode_claims"]

_MAX_TOKEN_LENGTH = 16_384


def decode_claims(token: str | None) -> dict[str, Any]:
    """Return a JWT's claims without verifying it, or {} for opaque or malformed tokens."""
    if not token or token.count(".") != 2 or len(token) > _MAX_TOKEN_LENGTH:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _audience(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(sorted(str(item) for item in value))
    return ()


@dataclass(frozen=True, slots=True)
class Token:
    """An access token with what the client knows about it.

    ``scopes`` is the granted set: the token response ``scope``, else the JWT
    ``scope``/``scp`` claims, else the set that was requested (opaque tokens).
    """

    access_token: str
    issuer: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    subject: str | None = None
    audience: tuple[str, ...] = ()
    token_type: str = "Bearer"
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_response(
        cls,
        body: Mapping[str, Any],
        *,
        issuer: str,
        client_id: str,
        requested: Iterable[str],
        now: float | None = None,
        previous_refresh_token: str | None = None,
    ) -> Token:
        """Build a token from an RFC 6749 §5.1 response body.

        :param requested: the scopes asked for, recorded as granted for opaque tokens.
        :param previous_refresh_token: kept when a refresh response omits a new one.
        """
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise TokenEndpointError("invalid_response", "token response has no access_token")
        token_type = body.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenEndpointError("invalid_response", f"unsupported token_type {token_type!r}")
        claims = decode_claims(access)
        granted = _granted(body.get("scope"), claims, requested)
        expires_at = _expiry(body.get("expires_in"), claims, time.time() if now is None else now)
        id_token = body.get("id_token") if isinstance(body.get("id_token"), str) else None
        subject = claims.get("sub") or decode_claims(id_token).get("sub")
        refresh = body.get("refresh_token")
        return cls(
            access_token=access,
            issuer=issuer,
            client_id=client_id,
            scopes=granted,
            expires_at=expires_at,
            refresh_token=refresh if isinstance(refresh, str) else previous_refresh_token,
            id_token=id_token,
            subject=subject if isinstance(subject, str) else None,
            audience=_audience(claims.get("aud")),
        )

    @property
    def cache_key(self) -> str:
        """Return the key: issuer, client id, audience, subject and the scope-set hash."""
        return "|".join(
            (
                self.issuer,
                self.client_id,
                " ".join(self.audience),
                self.subject or "",
                scope_set_hash(self.scopes),
            )
        )

    def is_valid(self, now: float, margin: float) -> bool:
        """Return whether the token is still usable ``margin`` seconds from now."""
        return self.expires_at is None or self.expires_at - margin > now

    def claims(self) -> dict[str, Any]:
        """Return the access token's unverified JWT claims ({} for opaque tokens)."""
        return decode_claims(self.access_token)

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form (version 2: with the recorded ``scopes``)."""
        return {
            "access_token": self.access_token,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "subject": self.subject,
            "audience": list(self.audience),
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Load a stored token; entries written before scopes were recorded still load.

        Raises ValueError for an entry that is not a token at all.
        """
        access = data.get("access_token")
        issuer = data.get("issuer")
        client_id = data.get("client_id")
        if not all(isinstance(v, str) and v for v in (access, issuer, client_id)):
            raise ValueError("stored token lacks access_token, issuer or client_id")
        assert isinstance(access, str) and isinstance(issuer, str) and isinstance(client_id, str)
        claims = decode_claims(access)
        recorded = scopes_from_value(data.get("scopes")) if "scopes" in data else None
        if recorded is None:
            recorded = granted_from_claims(claims) or frozenset()
        expires_at = data.get("expires_at")
        if not isinstance(expires_at, int | float) and isinstance(claims.get("exp"), int | float):
            expires_at = float(claims["exp"])
        subject = data.get("subject") or claims.get("sub")
        audience = data.get("audience")
        return cls(
            access_token=access,
            issuer=issuer,
            client_id=client_id,
            scopes=scope_set(recorded),
            expires_at=float(expires_at) if isinstance(expires_at, int | float) else None,
            refresh_token=_opt_str(data.get("refresh_token")),
            id_token=_opt_str(data.get("id_token")),
            subject=subject if isinstance(subject, str) else None,
            audience=_audience(audience if audience is not None else claims.get("aud")),
            token_type=_opt_str(data.get("token_type")) or "Bearer",
        )

    def without_refresh_token(self) -> Token:
        """Return a copy that can no longer be refreshed (after the server refused it)."""
        return replace(self, refresh_token=None)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _granted(
    response_scope: Any, claims: Mapping[str, Any], requested: Iterable[str]
) -> frozenset[str]:
    if isinstance(response_scope, str):
        try:
            parsed = scopes_from_value(response_scope)
        except ScopeError:  # pragma: no cover - scopes_from_value does not raise today
            parsed = None
        if parsed is not None:
            return parsed
    from_claims = granted_from_claims(claims)
    if from_claims is not None:
        return from_claims
    return scope_set(requested)


def _expiry(expires_in: Any, claims: Mapping[str, Any], now: float) -> float | None:
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        return now + float(expires_in)
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return None
