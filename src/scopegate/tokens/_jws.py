"""Reading a compact JWS access token (RFC 7515 §7.1), strictly and in C.

One regular expression splits the three segments, ``binascii`` decodes each one in
strict mode, and a segment must be canonical (no padding, zero unused bits), so one
token has exactly one spelling: one cache entry and one rate-limit bucket per token.
PyJWT's own decoder checks each character in Python (~25 µs a token); the signature
is still checked by PyJWT's algorithm object, pinned per key.
"""

from __future__ import annotations

import binascii
import re
from binascii import a2b_base64
from dataclasses import dataclass
from typing import Any, NamedTuple

import jwt
import orjson

from ..errors import InvalidToken

__all__ = [
    "ACCESS_TOKEN_TYPES",
    "SignedToken",
    "TokenVerificationError",
    "VerificationKey",
    "read_access_token",
]

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
"""RFC 9068 §4: ``typ`` is ``at+jwt`` or ``application/at+jwt``, compared case-insensitively
as media types are (RFC 8725 §3.11, RFC 2045 §5.1)."""

_COMPACT_JWS = re.compile(rb"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# A canonical segment leaves the unused low bits of its last character zero (RFC 4648
# §3.5): with 2 characters left over only values 0, 16, 32, 48 may end it; with 3, only
# multiples of 4. (Strict-mode a2b_base64 does not check those bits.)
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}
_JWS = jwt.PyJWS()


class TokenVerificationError(InvalidToken):
    """The token is malformed, forged, expired, or signed by a key we do not publish.

    ``description`` is safe to show the caller; ``detail`` only goes to logs. ``str()``
    gives both, for a log line.
    """

    def __str__(self) -> str:
        return f"{self.description} ({self.detail})" if self.detail else self.description


def _malformed() -> TokenVerificationError:
    return TokenVerificationError("malformed token")


def b64url_decode(segment: bytes) -> bytes:
    """Decode one unpadded, canonical base64url segment (RFC 7515 §2).

    The caller's regular expression has already allowed only the base64url alphabet.
    """
    left = len(segment) % 4
    if left == 1 or (left and segment[-1] not in _CANONICAL_LAST[left]):
        raise _malformed()
    try:
        return a2b_base64(segment.translate(_TO_STANDARD) + b"=" * (-len(segment) % 4),
                          strict_mode=True)
    except binascii.Error:
        raise _malformed() from None


def json_object(data: bytes) -> dict[str, Any]:
    """A JSON object (a JOSE header or a claim set), or ``malformed token``."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise _malformed() from None
    if not isinstance(value, dict):
        raise _malformed()
    return value


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with the one algorithm it may be used with (``none``/HMAC never).

    :param key: the public key, as PyJWT's ``prepare_key`` returns it.
    :param algorithm: PyJWT's algorithm object for ``alg`` (looked up when omitted).
    """

    kid: str
    alg: str
    key: Any
    algorithm: Any = None

    @classmethod
    def from_public_key(cls, kid: str, alg: str, public_key: Any) -> VerificationKey:
        """Pin ``alg`` to ``public_key`` with PyJWT's algorithm object for it."""
        algorithm = _JWS.get_algorithm_by_name(alg)
        return cls(kid, alg, algorithm.prepare_key(public_key), algorithm)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Check a JWS signature with this key and its pinned algorithm.

        :param signing_input: ``BASE64URL(header) || '.' || BASE64URL(payload)``.
        :param signature: the decoded signature (``r || s`` for ECDSA, RFC 7518 §3.4).
        """
        algorithm = self.algorithm or _JWS.get_algorithm_by_name(self.alg)
        return bool(algorithm.verify(signing_input, self.key, signature))


class SignedToken(NamedTuple):
    """An access token whose form and header were checked; its signature not yet."""

    kid: str
    alg: Any
    signing_input: bytes
    payload: bytes
    signature: bytes

    def claims_signed_by(self, key: VerificationKey) -> dict[str, Any]:
        """The claim set, once ``key`` (with its pinned ``alg``) verified the signature."""
        if self.alg != key.alg:
            raise TokenVerificationError("token algorithm not allowed",
                                         detail=f"alg={self.alg!r}")
        if not key.verify(self.signing_input, b64url_decode(self.signature)):
            raise TokenVerificationError("token rejected",
                                         detail="signature verification failed")
        return json_object(b64url_decode(self.payload))


def read_access_token(token: str) -> SignedToken:
    """Split a compact JWS and check its header: an access token ``typ``, a ``kid``, no
    ``crit`` or ``b64`` (RFC 7515 §4.1.11: no extension is understood here).

    :raises TokenVerificationError: the token is not a well-formed access token.
    """
    found = _COMPACT_JWS.fullmatch(token.encode("ascii")) if token.isascii() else None
    if found is None:
        raise _malformed()
    header = json_object(b64url_decode(found[1]))
    typ, kid = header.get("typ"), header.get("kid")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise TokenVerificationError("not an access token", detail=f"typ={typ!r}")
    if not isinstance(kid, str) or not kid:
        raise TokenVerificationError("token has no key id")
    if "crit" in header or "b64" in header:
        raise TokenVerificationError("token rejected", detail="unsupported critical header")
    signing_input = found.group(0)[:found.end(2)]
    return SignedToken(kid, header.get("alg"), signing_input, found[2], found[3])
