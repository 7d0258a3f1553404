"""The token the client holds: parsed from a token response, stored, and loaded back.

Claims are read WITHOUT verifying the signature: the client only uses them to decide
whether to reuse or step up a token; the resource server is the one that verifies.
"""

from __future__ import annotations

import math
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

__all__ = ["Token", "account_from_claims", "decode_claims"]

_MAX_TOKEN_LENGTH = 16_384
#: The longest ``expires_in`` taken at its word (a year); anything longer is odd.
MAX_EXPIRES_IN = 366 * 24 * 3600
#: What an odd or missing lifetime counts as: enough for the call at hand, never cached
#: past the cache's 60 s margin, so the next call asks again.
ODD_LIFETIME = 60.0
_LAST_DATE = 253_402_300_799.0  # 9999-12-31: a stored expiry past it cannot be shown


def decode_claims(token: str | None) -> dict[str, Any]:
    """Return a JWT's claims without verifying it, or {} for opaque or malformed tokens."""
    if not token or token.count(".") != 2 or len(token) > _MAX_TOKEN_LENGTH:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def account_from_claims(claims: Mapping[str, Any]) -> str | None:
    """The person in words: ``email``, else ``preferred_username`` (OIDC Core §5.1)."""
    for key in ("email", "preferred_username"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip() and value.isprintable():
            return value.strip()
    return None


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
    ``account`` names the person in words (an email, as MSAL's ``username``): the ID
    token's ``email`` or ``preferred_username``, or what UserInfo said at login.
    ``repr()`` masks the access, refresh and ID tokens.
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
    account: str | None = None
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
        dpop: bool = False,
        previous_account: str | None = None,
    ) -> Token:
        """Build a token from an RFC 6749 §5.1 response body.

        :param requested: the scopes asked for, recorded as granted for opaque tokens.
        :param previous_refresh_token: kept when a refresh response omits a new one.
        :param dpop: the request carried a DPoP proof, so ``token_type`` may be ``DPoP``.
        :param previous_account: kept when a refresh response carries no ID token naming one.
        """
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise TokenEndpointError("invalid_response", "token response has no access_token")
        token_type = body.get("token_type", "Bearer")
        kinds = ("bearer", "dpop") if dpop else ("bearer",)
        if not isinstance(token_type, str) or token_type.lower() not in kinds:
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
            token_type="DPoP" if token_type.lower() == "dpop" else "Bearer",
            account=account_from_claims(decode_claims(id_token)) or previous_account,
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

    def __repr__(self) -> str:
        def masked(value: str | None) -> str:
            return "'***'" if value else "None"

        return (
            f"Token(access_token='***', issuer={self.issuer!r}, client_id={self.client_id!r}, "
            f"scopes={sorted(self.scopes)!r}, expires_at={self.expires_at!r}, "
            f"refresh_token={masked(self.refresh_token)}, id_token={masked(self.id_token)}, "
            f"subject={self.subject!r}, audience={self.audience!r})"
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
            "account": self.account,
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
        expires_at = _stored_expiry(data.get("expires_at"), claims.get("exp"))
        subject = data.get("subject") or claims.get("sub")
        audience = data.get("audience")
        return cls(
            access_token=access,
            issuer=issuer,
            client_id=client_id,
            scopes=scope_set(recorded),
            expires_at=expires_at,
            refresh_token=_opt_str(data.get("refresh_token")),
            id_token=_opt_str(data.get("id_token")),
            subject=subject if isinstance(subject, str) else None,
            audience=_audience(audience if audience is not None else claims.get("aud")),
            token_type=_opt_str(data.get("token_type")) or "Bearer",
            account=_opt_str(data.get("account")),
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


def _number(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None (not a number, a bool, NaN, infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer like 10**400
        return None
    return number if math.isfinite(number) else None


def _expiry(expires_in: Any, claims: Mapping[str, Any], now: float) -> float:
    """RFC 6749 §5.1 ``expires_in``: a positive integer up to a year; else short-lived.

    An odd value (negative, zero, a string, 1e999, 10**400) never makes a token eternal:
    it lives :data:`ODD_LIFETIME`. A missing one falls back to a sane JWT ``exp``.
    """
    seconds = _number(expires_in)
    if seconds is not None and seconds.is_integer() and 0 < seconds <= MAX_EXPIRES_IN:
        return now + seconds
    exp = _number(claims.get("exp"))
    if expires_in is None and exp is not None and exp <= now + MAX_EXPIRES_IN:
        return exp
    return now + ODD_LIFETIME


def _stored_expiry(stored: Any, exp: Any) -> float | None:
    """A stored ``expires_at`` (else the JWT ``exp``); one that makes no sense is expired."""
    value = stored if stored is not None else exp
    if value is None:
        return None  # stored without an expiry by this SDK's caller: as it was
    number = _number(value)
    if number is None or not 0 <= number <= _LAST_DATE:
        return 0.0
    return number
