"""Guard-specific errors: an unreachable authorization server, and RFC 6750 §3.1 answers."""

from __future__ import annotations

from typing import Any

from scopegate.errors import InvalidRequest, InvalidToken, OAuthError, bearer_challenge

__all__ = ["DuplicateAuthorization", "MissingCredentials", "UpstreamUnavailable"]


class UpstreamUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1 ``temporarily_unavailable``: JWKS or introspection is unreachable.

    Answered as 503 so that a client retries instead of throwing its token away.
    """

    error = "temporarily_unavailable"
    status_code = 503
    default_description = "the authorization server is unreachable; retry shortly"

    def __init__(self, description: str | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.headers.setdefault("Retry-After", "5")


class MissingCredentials(InvalidToken):
    """RFC 6750 §3.1: no credentials (no header, or another scheme) get a bare challenge.

    The client may simply not know the resource needs a token, so the challenge names
    the realm only, with no error code.
    """

    def __init__(self, realm: str | None = None) -> None:
        super().__init__("no bearer token",
                         headers={"WWW-Authenticate": bearer_challenge(realm)})


class DuplicateAuthorization(InvalidRequest):
    """RFC 6750 §3.1 ``invalid_request``: more than one ``Authorization`` header."""

    default_description = "send one Authorization header, not several"
