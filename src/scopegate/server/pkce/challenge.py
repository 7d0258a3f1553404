"""PKCE (RFC 7636) as a hook on the authorization-code grant: S256 only, plain refused.

The authorization endpoint calls :func:`validate_challenge` before it stores a code; the
token endpoint calls :func:`verify` with the stored challenge and the client's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from ...errors import InvalidGrant, InvalidRequest

__all__ = [
    "SUPPORTED_METHODS",
    "PkceChallenge",
    "s256_challenge",
    "validate_challenge",
    "verify",
]

SUPPORTED_METHODS: tuple[str, ...] = ("S256",)

# RFC 7636 §4.1: 43..128 unreserved characters.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# A S256 challenge is base64url(sha256) without padding: exactly 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


@dataclass(frozen=True, slots=True)
class PkceChallenge:
    """A validated challenge as stored with an authorization code."""

    challenge: str
    method: str = "S256"


def s256_challenge(verifier: str) -> str:
    """Return ``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def validate_challenge(challenge: str | None, method: str | None) -> PkceChallenge:
    """Check the authorization request's PKCE parameters; PKCE is required.

    :raises InvalidRequest: the challenge is missing or malformed, or the method is not
        ``S256`` (an omitted method means ``plain`` per RFC 7636 §4.3, which is refused).
    """
    if not challenge:
        raise InvalidRequest("code_challenge is required (PKCE S256)")
    if method is None or method == "":
        raise InvalidRequest("code_challenge_method is required and must be S256")
    if method not in SUPPORTED_METHODS:
        raise InvalidRequest("code_challenge_method must be S256 (plain is not allowed)")
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters")
    return PkceChallenge(challenge=challenge, method=method)


def verify(stored: PkceChallenge, verifier: str | None) -> None:
    """Check the token request's ``code_verifier`` against the stored challenge.

    :raises InvalidRequest: the verifier is missing or malformed (RFC 7636 §4.1).
    :raises InvalidGrant: the verifier does not match the challenge (RFC 7636 §4.6).
    """
    if not verifier:
        raise InvalidRequest("code_verifier is required")
    if not _VERIFIER.fullmatch(verifier):
        raise InvalidRequest("code_verifier must be 43 to 128 unreserved characters")
    if stored.method not in SUPPORTED_METHODS:
        raise InvalidGrant("the code was issued with an unsupported PKCE method")
    expected = s256_challenge(verifier)
    if not hmac.compare_digest(expected.encode(), stored.challenge.encode()):
        raise InvalidGrant("code_verifier does not match the code_challenge")
