"""Verify our own JWTs with PyJWT, the algorithm pinned per key id.

Used by introspection and revocation. ``alg=none``, an HMAC alg that would use a public
key as the secret, an alg other than the key's, and an unknown ``kid`` are all refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from ._keys import SigningKeyPair

__all__ = ["TokenVerificationError", "TokenVerifier"]


class TokenVerificationError(ValueError):
    """The token is malformed, forged, expired, or signed by a key we do not publish."""


class TokenVerifier:
    """Checks signatures against the published keys.

    :param keys: the keys whose tokens are accepted (active and retired-but-published).
    :param issuer: the required ``iss``.
    """

    def __init__(self, keys: Iterable[SigningKeyPair], issuer: str) -> None:
        self.issuer = issuer
        self._keys: dict[str, tuple[str, Any]] = {}
        for key in keys:
            private = key.private_key
            prepared: Any
            if isinstance(private, ec.EllipticCurvePrivateKey):
                prepared = ECAlgorithm(ECAlgorithm.SHA256).prepare_key(private.public_key())
            elif isinstance(private, rsa.RSAPrivateKey):
                raise ValueError("RSA keys sign ID tokens only; access tokens never use them")
            else:
                prepared = OKPAlgorithm().prepare_key(private.public_key())
            self._keys[key.kid] = (key.alg, prepared)

    def verify(self, token: str, *, typ: str | None = "at+jwt",
               leeway: float = 0) -> Mapping[str, Any]:
        """Return the claims of a valid, unexpired token issued by us.

        :param typ: the required ``typ`` header (None to accept any).
        :raises TokenVerificationError: on any problem; its message is safe to log.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenVerificationError(f"malformed token: {exc}") from None
        kid = header.get("kid")
        found = self._keys.get(kid) if isinstance(kid, str) else None
        if found is None:
            raise TokenVerificationError("unknown signing key")
        alg, key = found
        if header.get("alg") != alg:
            raise TokenVerificationError(f"alg {header.get('alg')!r} does not match the key")
        if typ is not None and header.get("typ") != typ:
            raise TokenVerificationError(f"typ must be {typ!r}")
        try:
            return jwt.decode(
                token, key, algorithms=[alg], issuer=self.issuer, leeway=leeway,
                options={"require": ["exp", "iat", "iss", "jti"], "verify_aud": False})
        except jwt.PyJWTError as exc:
            raise TokenVerificationError(str(exc)) from None
