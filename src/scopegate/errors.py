"""OAuth 2 error answers shared by the authorization server and the guard.

Each class sets its RFC error code and quotes the section that defines it. An instance
may override ``description`` (public, sent to the client) and carries ``detail``
(private, only logged). Anything that is not an :class:`OAuthError` becomes a bland
``server_error`` at the edge.

Exception tree::

    OAuthError
     ├── InvalidRequest            RFC 6749 §5.2          400
     │    └── RequestTooLarge      (413 body)             413
     ├── InvalidClient             RFC 6749 §5.2          401
     ├── InvalidGrant              RFC 6749 §5.2          400
     ├── UnauthorizedClient        RFC 6749 §5.2          400
     ├── UnsupportedGrantType      RFC 6749 §5.2          400
     ├── UnsupportedResponseType   RFC 6749 §4.1.2.1      400
     ├── InvalidScope              RFC 6749 §5.2          400
     ├── AccessDenied              RFC 6749 §4.1.2.1      403
     ├── InvalidTarget             RFC 8707 §2            400
     ├── AuthorizationPending      RFC 8628 §3.5          400
     ├── SlowDown                  RFC 8628 §3.5          400
     ├── ExpiredToken              RFC 8628 §3.5          400
     ├── LoginRequired             OIDC Core §3.1.2.6     400
     ├── ConsentRequired           OIDC Core §3.1.2.6     400
     ├── InvalidToken              RFC 6750 §3.1          401
     ├── InsufficientScope         RFC 6750 §3.1          403
     ├── RateLimited               RFC 6585 §4            429
     ├── NotFound                  (API)                  404
     ├── ServerError               RFC 6749 §4.1.2.1      500
     └── TemporarilyUnavailable    RFC 6749 §4.1.2.1      503
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from .scopes import format_scope

__all__ = [
    "AccessDenied",
    "AuthorizationPending",
    "ConsentRequired",
    "ExpiredToken",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "LoginRequired",
    "NotFound",
    "OAuthError",
    "RateLimited",
    "RequestTooLarge",
    "ServerError",
    "SlowDown",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "bearer_challenge",
]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def bearer_challenge(realm: str | None = None, **params: str) -> str:
    """Build an RFC 6750 §3 ``WWW-Authenticate: Bearer …`` value."""
    parts = [f'realm="{_quote(realm)}"'] if realm else []
    parts += [f'{key}="{_quote(value)}"' for key, value in params.items() if value]
    return "Bearer " + ", ".join(parts) if parts else "Bearer"


class OAuthError(Exception):
    """An error answer with an RFC error code, a public description and a status."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400
    default_description: ClassVar[str] = ""

    def __init__(
        self,
        description: str | None = None,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        uri: str | None = None,
    ) -> None:
        self.description = description if description is not None else self.default_description
        self.detail = detail
        self.uri = uri
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.description or self.error)

    def body(self) -> dict[str, Any]:
        """The JSON body (RFC 6749 §5.2 shape)."""
        out: dict[str, Any] = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        if self.uri:
            out["error_uri"] = self.uri
        return out

    def response_headers(self) -> dict[str, str]:
        """Headers every error answer carries: never cache an error about credentials."""
        return {"Cache-Control": "no-store", "Pragma": "no-cache", **self.headers}


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2: the request is missing a parameter, repeats one, or is malformed."""

    error = "invalid_request"


class RequestTooLarge(InvalidRequest):
    """The request body is over the size limit (HTTP 413, ``invalid_request``)."""

    status_code = 413
    default_description = "request body too large"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed (401 with a challenge)."""

    error = "invalid_client"
    status_code = 401
    default_description = "client authentication failed"

    def __init__(self, description: str | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Basic realm="scopegate"')


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: the grant (code, refresh token, device code) is invalid or used."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: the client may not use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2: the grant type is not supported by this server."""

    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: the response type is not supported."""

    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2: a requested scope is unknown, malformed or not allowed."""

    error = "invalid_scope"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1 / RFC 8628 §3.5: the resource owner denied the request."""

    error = "access_denied"
    status_code = 403


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the requested resource is unknown or not allowed for this client."""

    error = "invalid_target"


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not yet approved the device request."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: polling too fast; the interval grows by 5 seconds."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code has expired."""

    error = "expired_token"


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: ``prompt=none`` but the user is not logged in."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: ``prompt=none`` but consent is needed."""

    error = "consent_required"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is missing, malformed, expired or revoked."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, description: str | None = None, *, realm: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.headers.setdefault(
            "WWW-Authenticate",
            bearer_challenge(realm, error=self.error, error_description=self.description),
        )


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token lacks scopes; the challenge names every required scope."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, required: Iterable[str], description: str | None = None, *,
                 realm: str | None = None, **kwargs: Any) -> None:
        self.required: tuple[str, ...] = tuple(sorted(set(required)))
        scope = format_scope(self.required)
        super().__init__(description or f"requires scope: {scope}", **kwargs)
        self.headers.setdefault(
            "WWW-Authenticate",
            bearer_challenge(realm, error=self.error, error_description=self.description,
                             scope=scope),
        )

    def body(self) -> dict[str, Any]:
        return {**super().body(), "scope": format_scope(self.required)}


class RateLimited(OAuthError):
    """RFC 6585 §4: too many requests; carries ``Retry-After`` and ``retry_after_ms``."""

    error = "rate_limited"
    status_code = 429

    def __init__(self, retry_after_ms: int, description: str | None = None,
                 **kwargs: Any) -> None:
        self.retry_after_ms = max(0, int(retry_after_ms))
        super().__init__(description or "rate limit exceeded", **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, -(-self.retry_after_ms // 1000))))

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "retry_after_ms": self.retry_after_ms}


class NotFound(OAuthError):
    """A resource of the management API does not exist."""

    error = "not_found"
    status_code = 404


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1: an unexpected condition; the public text stays bland."""

    error = "server_error"
    status_code = 500
    default_description = "internal error"


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1: the server cannot handle the request for now (503, ``Retry-After``).

    Said while a service the server needs (its database) cannot be reached.
    """

    error = "temporarily_unavailable"
    status_code = 503
    default_description = "the service is temporarily unavailable; try again shortly"

    def __init__(self, description: str | None = None, *, retry_after_s: int = 5,
                 **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, int(retry_after_s))))
