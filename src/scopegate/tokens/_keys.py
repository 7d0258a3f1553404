"""Signing keys: generate, serialise, and publish as JWK (ES256, EdDSA or RS256).

Access tokens are signed with ES256 or EdDSA (:data:`SUPPORTED_ALGS`). RS256 exists only
for OpenID Connect ID tokens (:data:`ID_TOKEN_ALG`): OIDC Discovery makes it the default
that every relying party must be able to verify.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = [
    "ID_TOKEN_ALG",
    "KEY_ALGS",
    "RSA_KEY_BITS",
    "SUPPORTED_ALGS",
    "PrivateKey",
    "SigningKeyPair",
    "b64url",
    "generate_key",
]

SUPPORTED_ALGS = ("ES256", "EdDSA")  # access-token algs (``--alg`` of signing-keys rotate)
ID_TOKEN_ALG = "RS256"  # OIDC Discovery §3: the ID-token alg every RP must support
KEY_ALGS = (*SUPPORTED_ALGS, ID_TOKEN_ALG)
RSA_KEY_BITS = 2048  # the RFC 7518 §3.3 minimum; generating 3072 costs ~0.5 s per start
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKeyPair:
    """A private key with its pinned ``alg`` and ``kid`` (the RFC 7638 thumbprint)."""

    kid: str
    alg: str
    private_key: PrivateKey

    @classmethod
    def from_pem(cls, pem: str, alg: str, kid: str | None = None) -> SigningKeyPair:
        """Load a PKCS#8 PEM; the key type must match ``alg``."""
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if alg == "ES256":
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("ES256 needs a P-256 key")
        elif alg == "EdDSA":
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise ValueError("EdDSA needs an Ed25519 key")
        elif alg == ID_TOKEN_ALG:
            if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < RSA_KEY_BITS:
                raise ValueError(f"RS256 needs an RSA key of at least {RSA_KEY_BITS} bits")
        else:
            raise ValueError(f"unsupported alg {alg!r}")
        pair = cls(kid="", alg=alg, private_key=key)
        return cls(kid=kid or pair.thumbprint(), alg=alg, private_key=key)

    def private_pem(self) -> str:
        """PKCS#8 PEM of the private key (stored in the database)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    def _public_members(self) -> dict[str, str]:
        key = self.private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
            return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
        if isinstance(key, rsa.RSAPrivateKey):
            rsa_numbers = key.public_key().public_numbers()
            return {"e": b64url(_uint(rsa_numbers.e)), "kty": "RSA",
                    "n": b64url(_uint(rsa_numbers.n))}
        numbers = key.public_key().public_numbers()
        return {"crv": "P-256", "kty": "EC", "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big"))}

    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url): a stable, unique ``kid``."""
        canonical = orjson.dumps(self._public_members(), option=orjson.OPT_SORT_KEYS)
        return b64url(hashlib.sha256(canonical).digest())

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg`` and ``use`` (for ``/jwks.json``)."""
        return {**self._public_members(), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of the public key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _uint(value: int) -> bytes:
    """Big-endian bytes without leading zeros (RFC 7518 §6.3.1 ``n`` and ``e``)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def generate_key(alg: str = "ES256") -> SigningKeyPair:
    """Generate a fresh key for ``alg`` (ES256: P-256, EdDSA: Ed25519, RS256: RSA-2048)."""
    key: PrivateKey
    if alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif alg == ID_TOKEN_ALG:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    else:
        raise ValueError(f"unsupported alg {alg!r}; use one of {', '.join(KEY_ALGS)}")
    pair = SigningKeyPair(kid="", alg=alg, private_key=key)
    return SigningKeyPair(kid=pair.thumbprint(), alg=alg, private_key=key)
