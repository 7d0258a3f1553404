"""The errors of client registration (RFC 7591 §3.2.2), answered as JSON with a sentence.

::

    OAuthError
     ├── InvalidRedirectUri     RFC 7591 §3.2.2   400
     └── InvalidClientMetadata  RFC 7591 §3.2.2   400
"""

from __future__ import annotations

from ...errors import OAuthError

__all__ = ["InvalidClientMetadata", "InvalidRedirectUri"]


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: a redirect URI is malformed or not allowed here."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a metadata value is malformed, unknown or not allowed here."""

    error = "invalid_client_metadata"
