"""Secrets of client self-registration (RFC 7591/7592): initial and registration access
tokens, made here and stored or configured only as their SHA-256.

Both are 256-bit random values, so a plain SHA-256 is as strong as a slow hash; each
carries a prefix secret scanners can spot (``sgiat_`` initial, ``sgrat_`` registration).
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["new_initial_access_token", "new_registration_access_token", "token_hash"]


def token_hash(token: str) -> str:
    """The stored (or configured) form of an initial or registration access token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_initial_access_token() -> tuple[str, str]:
    """A new initial access token and the hash to list in
    ``SCOPEGATE_REGISTRATION_INITIAL_TOKENS`` (the token itself is stored nowhere)."""
    token = "sgiat_" + secrets.token_urlsafe(32)
    return token, token_hash(token)


def new_registration_access_token() -> tuple[str, str]:
    """A client's RFC 7592 registration access token and the hash its row keeps."""
    token = "sgrat_" + secrets.token_urlsafe(32)
    return token, token_hash(token)
