"""The one RFC 9068 access-token verifier, shared by the server and the guard.

Each side brings its own key source: the server its key ring (:class:`TokenVerifier`
holds those keys and answers :meth:`TokenVerifier.verify`), the guard the issuer's
JWKS, fetched asynchronously between :meth:`~TokenVerifier.read` and
:meth:`~TokenVerifier.open`. Either way the same checks run, in this order:

1. the compact form, strictly (:func:`read_access_token`): ``typ`` ``at+jwt`` or
   ``application/at+jwt`` in any case, a ``kid``, no ``crit``/``b64``;
2. the key for ``kid`` (unknown: ``unknown signing key``), its pinned ``alg`` (``none``,
   HMAC and any other alg are refused), the signature by PyJWT's algorithm object;
3. the claims (:data:`REQUIRED_CLAIMS`, RFC 9068 §2.2): ``iss`` is ours; ``sub``,
   ``client_id`` and ``jti`` non-empty strings; ``exp``, ``iat`` and any ``nbf`` JSON
   numbers, checked with the leeway; ``subject_type``, when present, ``user`` or
   ``service``.

``aud`` is required by RFC 9068 too, but which audience is acceptable belongs to the
resource: introspection answers inactive without a known one, ``/userinfo`` and the
management API want their own, and the guard applies its audience mode (``enforce``
refuses a missing ``aud``; ``warn`` and ``off`` exist to roll audiences out to old
clients). So the verifier hands ``aud`` over unchecked.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from ._access import SUBJECT_TYPES
from ._jws import SignedToken, TokenVerificationError, VerificationKey, read_access_token
from ._keys import SigningKeyPair

__all__ = ["REQUIRED_CLAIMS", "TokenVerifier"]

REQUIRED_CLAIMS = ("iss", "exp", "iat", "sub", "client_id", "jti")
_STRING_CLAIMS = ("sub", "client_id", "jti")


def _rejected(detail: str) -> TokenVerificationError:
    return TokenVerificationError("token rejected", detail=detail)


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2: a JSON number), None when absent."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _rejected(f"{name} is not a number")
    return float(value)


class TokenVerifier:
    """Verifies our JWT access tokens: one parse, one pinned algorithm, one claims policy.

    :param keys: the keys whose tokens are accepted (the server's active and
        retired-but-published access-token keys; none for a JWKS-backed caller).
    :param issuer: the required ``iss``.
    :param leeway_s: clock skew allowed on ``exp``, ``nbf`` and ``iat``.
    """

    __slots__ = ("_keys", "issuer", "leeway_s")

    def __init__(self, keys: Iterable[SigningKeyPair], issuer: str, *,
                 leeway_s: float = 0.0) -> None:
        self.issuer = issuer
        self.leeway_s = leeway_s
        self._keys: dict[str, VerificationKey] = {}
        for key in keys:
            if isinstance(key.private_key, rsa.RSAPrivateKey):
                raise ValueError("RSA keys sign ID tokens only; access tokens never use them")
            public = key.private_key.public_key()
            self._keys[key.kid] = VerificationKey.from_public_key(key.kid, key.alg, public)

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid, unexpired access token signed by one of our keys.

        :raises TokenVerificationError: on any problem (``str()`` is safe to log).
        """
        signed = self.read(token)
        key = self._keys.get(signed.kid)
        if key is None:
            raise TokenVerificationError("unknown signing key", detail=f"kid={signed.kid!r}")
        return self.open(signed, key)

    @staticmethod
    def read(token: str) -> SignedToken:
        """Step 1: the compact form and header (the caller then finds the ``kid``'s key)."""
        return read_access_token(token)

    def open(self, signed: SignedToken, key: VerificationKey) -> dict[str, Any]:
        """Steps 2 and 3: the pinned algorithm, the signature, then the claims policy."""
        claims = signed.claims_signed_by(key)
        self.check_claims(claims)
        return claims

    def check_claims(self, claims: Mapping[str, Any], now: float | None = None) -> None:
        """The RFC 9068 §2.2 claims policy (see the module docstring)."""
        for name in REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise _rejected(f"no {name} claim")
        if claims["iss"] != self.issuer:
            raise _rejected(f"iss={claims['iss']!r}")
        for name in _STRING_CLAIMS:
            value = claims[name]
            if not isinstance(value, str) or not value:
                raise _rejected(f"{name} is not a non-empty string")
        self._check_dates(claims, time.time() if now is None else now)
        subject_type = claims.get("subject_type")
        if subject_type is not None and (not isinstance(subject_type, str)
                                         or subject_type not in SUBJECT_TYPES):
            raise _rejected(f"subject_type={subject_type!r}")

    def _check_dates(self, claims: Mapping[str, Any], now: float) -> None:
        leeway = self.leeway_s
        exp = _numeric_date(claims, "exp")
        if exp is not None and exp <= now - leeway:
            raise TokenVerificationError("token expired")
        nbf = _numeric_date(claims, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise _rejected("not valid yet (nbf)")
        iat = _numeric_date(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise _rejected("issued in the future (iat)")
