"""Client secrets: high-entropy random values stored as a keyed hash.

A secret has 256 bits of entropy, so a fast HMAC-SHA-256 under a server pepper is as
strong as a slow password hash and costs microseconds, not milliseconds, per token
request. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
import secrets

__all__ = ["hash_client_secret", "new_client_id", "new_client_secret", "verify_client_secret"]

_DUMMY = "0" * 64


def new_client_id() -> str:
    """A random, URL-safe client id."""
    return "sgc_" + secrets.token_hex(10)


def new_client_secret() -> str:
    """A 256-bit random secret with a prefix secret scanners can spot."""
    return "sgcs_" + secrets.token_urlsafe(32)


def hash_client_secret(pepper: str, secret: str) -> str:
    """HMAC-SHA-256 of ``secret`` keyed with the server ``pepper`` (hex)."""
    return hmac.digest(pepper.encode(), secret.encode(), "sha256").hex()


def verify_client_secret(pepper: str, secret: str, stored: str | None) -> bool:
    """Compare in constant time; an absent hash still costs one HMAC (no timing oracle)."""
    computed = hash_client_secret(pepper, secret)
    return hmac.compare_digest(computed, stored or _DUMMY) and stored is not None
