"""The one guard-specific error: the authorization server could not be reached."""

from __future__ import annotations

from typing import Any

from scopegate.errors import OAuthError

__all__ = ["UpstreamUnavailable"]


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
