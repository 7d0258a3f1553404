"""Fast compact-JWS signing around ``cryptography``'s signature.

The header of each (key, typ) pair is encoded once; a token costs one orjson dump, two
base64url encodings and the raw signature. ES256 signatures come from ``cryptography`` as
DER and are converted to the JOSE ``r || s`` form (RFC 7518 §3.4); RS256 (ID tokens only)
is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), already in JOSE form. Every token
kind this emits is verified in the tests with joserfc, an independent JOSE library.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ._keys import SigningKeyPair

__all__ = ["JwsSigner"]

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def _b64url(data: bytes) -> bytes:
    """Unpadded base64url (RFC 7515 §2), straight from ``binascii`` (no ``base64`` wrappers)."""
    return b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


class JwsSigner:
    """Signs JSON claims as a compact JWS with one key; ``alg`` and ``kid`` fixed.

    :param key: the signing key; its ``alg`` goes in every header.
    """

    __slots__ = ("_ec", "_ed", "_headers", "_rsa", "alg", "kid")

    def __init__(self, key: SigningKeyPair) -> None:
        self.kid = key.kid
        self.alg = key.alg
        private = key.private_key
        # One typed slot per key kind: the hot path tests ``is not None``, not isinstance.
        self._ec = private if isinstance(private, ec.EllipticCurvePrivateKey) else None
        self._rsa = private if isinstance(private, rsa.RSAPrivateKey) else None
        self._ed = private if isinstance(private, ed25519.Ed25519PrivateKey) else None
        self._headers: dict[str, bytes] = {}

    def _header(self, typ: str) -> bytes:
        encoded = self._headers.get(typ)
        if encoded is None:
            header = {"alg": self.alg, "kid": self.kid, "typ": typ}
            encoded = _b64url(orjson.dumps(header)) + b"."
            self._headers[typ] = encoded
        return encoded

    def sign(self, claims: Mapping[str, Any], typ: str = "JWT") -> str:
        """Return the compact JWS of ``claims`` with header ``{alg, kid, typ}``."""
        signing_input = self._header(typ) + _b64url(orjson.dumps(claims))
        if self._ec is not None:
            r, s = decode_dss_signature(self._ec.sign(signing_input, _ECDSA_SHA256))
            raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        elif self._rsa is not None:
            raw = self._rsa.sign(signing_input, _PKCS1V15, _SHA256)
        else:
            assert self._ed is not None
            raw = self._ed.sign(signing_input)
        return (signing_input + b"." + _b64url(raw)).decode("ascii")
