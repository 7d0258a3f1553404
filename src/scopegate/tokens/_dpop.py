"""DPoP proofs (RFC 9449 §4.3): the one checker, used by the token endpoint and the guard.

A proof is a compact JWS whose header carries the client's public key (``jwk``); it is
verified with PyJWT's algorithm object for a pinned ``alg`` (never ``none``, never HMAC),
after the form checks of :mod:`._jws` (canonical base64url, JSON objects). The key is
refused if it carries private members, and the thumbprint (RFC 7638) binds it to a token.
What is checked here is the proof alone; the caller checks the thumbprint against the
token's ``cnf.jkt``, the ``jti`` against its replay cache and the ``nonce`` it demands.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections import OrderedDict
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import jwt
import orjson

from ..errors import OAuthError
from ._jws import b64url_decode, json_object
from ._keys import b64url

__all__ = ["DPOP_ALGS", "MAX_PROOF_LENGTH", "PROOF_TYP", "DPoPProof", "InvalidDPoPProof",
           "UseDPoPNonce", "access_token_hash", "jwk_thumbprint", "normalize_htu",
           "verify_proof"]

DPOP_ALGS = ("ES256", "EdDSA", "RS256", "PS256")
"""Proof algorithms accepted (``dpop_signing_alg_values_supported``): asymmetric only."""
MAX_PROOF_LENGTH = 4096
"""Longest ``DPoP`` header read: a proof with an RSA-4096 key is ~2.2 KB."""
PROOF_TYP = "dpop+jwt"
MAX_JTI_LENGTH = 256

_COMPACT = re.compile(rb"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_JWS = jwt.PyJWS()
# RFC 7638 §3.2: the required members of each key type, in the thumbprint's order.
_REQUIRED = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
# Which key each algorithm needs (kty, crv); RSA keys must also be 2048 bits or more.
_KEY_FOR_ALG = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519"),
                "RS256": ("RSA", None), "PS256": ("RSA", None)}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_KEYS: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (alg, jkt) -> prepared key
_MAX_KEYS = 1024


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5 (token endpoint, 400) and §7.1 (resource): the DPoP proof is invalid."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """RFC 9449 §8 / §9: send the proof again with the nonce in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"

    def __init__(self, nonce: str, description: str, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.headers.setdefault("DPoP-Nonce", nonce)


class DPoPProof(NamedTuple):
    """What a verified proof says: the key's thumbprint and the claims callers check."""

    jkt: str
    jti: str
    iat: int
    nonce: str | None


def _refuse(description: str, detail: str | None = None) -> InvalidDPoPProof:
    return InvalidDPoPProof(description, detail=detail)


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url (``cnf.jkt``, RFC 9449 §6)."""
    members = _REQUIRED.get(jwk.get("kty"))  # type: ignore[arg-type]
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise _refuse("the DPoP proof's jwk is not an EC, OKP or RSA public key")
    canonical = orjson.dumps({m: jwk[m] for m in members})  # sorted, no whitespace
    return b64url(hashlib.sha256(canonical).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def normalize_htu(url: str) -> str:
    """An ``htu`` as compared (RFC 9449 §4.3): scheme and host lower case, the default port
    dropped, no query or fragment (RFC 3986 §6.2.2-6.2.3 normalisation)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def _public_key(header: dict[str, Any], alg: str) -> tuple[Any, str]:
    """The prepared public key of the header's ``jwk`` and its thumbprint."""
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise _refuse("the DPoP proof has no jwk header")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise _refuse("the DPoP proof's jwk holds private key material; send the public key")
    kty, crv = _KEY_FOR_ALG[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise _refuse(f"{alg} needs a {crv or kty} key in the DPoP proof's jwk")
    jkt = jwk_thumbprint(jwk)
    key = _KEYS.get((alg, jkt))
    if key is None:
        try:
            key = _JWS.get_algorithm_by_name(alg).from_jwk(jwk)
        except (jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise _refuse("the DPoP proof's jwk is not a valid public key",
                          detail=str(exc)) from None
        if kty == "RSA" and key.key_size < 2048:
            raise _refuse("the DPoP proof's RSA key is shorter than 2048 bits")
        if len(_KEYS) >= _MAX_KEYS:
            _KEYS.popitem(last=False)
        _KEYS[(alg, jkt)] = key
    return key, jkt


def _header(segment: bytes, algs: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    header = json_object(b64url_decode(segment))
    typ, alg = header.get("typ"), header.get("alg")
    if not isinstance(typ, str) or typ.lower() != PROOF_TYP:
        raise _refuse(f"a DPoP proof has typ {PROOF_TYP}")
    if not isinstance(alg, str) or alg not in algs:
        raise _refuse("the DPoP proof's alg is not one of " + " ".join(algs),
                      detail=f"alg={str(alg)[:20]!r}")
    if "crit" in header or "b64" in header:
        raise _refuse("the DPoP proof has a critical header this server does not support")
    return header, alg


def _claims(payload: bytes, method: str, url: str, now: float,
            window: tuple[float, float]) -> tuple[dict[str, Any], str, int]:
    claims = json_object(b64url_decode(payload))
    jti, htm, htu, iat = (claims.get(k) for k in ("jti", "htm", "htu", "iat"))
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise _refuse("the DPoP proof needs a jti of at most 256 characters")
    if htm != method:
        raise _refuse(f"the DPoP proof is for another method (htm must be {method})")
    if not isinstance(htu, str) or normalize_htu(htu) != normalize_htu(url):
        raise _refuse(f"the DPoP proof is for another URL (htu must be {normalize_htu(url)})")
    if (not isinstance(iat, int | float) or isinstance(iat, bool) or not math.isfinite(iat)
            or not now - window[0] <= iat <= now + window[1]):
        raise _refuse("the DPoP proof's iat is not within the accepted window; "
                      "check the client's clock")
    return claims, jti, int(iat)


def verify_proof(proof: str, *, method: str, url: str, access_token: str | None = None,
                 max_age_s: float = 300.0, leeway_s: float = 30.0,
                 algs: tuple[str, ...] = DPOP_ALGS, now: float | None = None) -> DPoPProof:
    """Check one ``DPoP`` header value (RFC 9449 §4.3 steps 2-11, without jti and nonce).

    :param url: the request's URL as the client sees it (normalised here).
    :param access_token: the token it comes with (a resource request): ``ath`` must match.
    :raises InvalidDPoPProof: what is wrong, in one sentence.
    """
    if len(proof) > MAX_PROOF_LENGTH or not proof.isascii():
        raise _refuse(f"the DPoP proof is longer than {MAX_PROOF_LENGTH} characters")
    found = _COMPACT.fullmatch(proof.encode("ascii"))
    if found is None:
        raise _refuse("the DPoP proof is not a compact JWS")
    try:
        header, alg = _header(found[1], algs)
        key, jkt = _public_key(header, alg)
        if not _JWS.get_algorithm_by_name(alg).verify(found.group(0)[:found.end(2)], key,
                                                        b64url_decode(found[3])):
            raise _refuse("the DPoP proof's signature does not verify with its jwk")
        when = time.time() if now is None else now
        claims, jti, iat = _claims(found[2], method, url, when, (max_age_s + leeway_s,
                                                                  leeway_s))
    except InvalidDPoPProof:
        raise
    except OAuthError as exc:  # malformed base64url or JSON (from ._jws)
        raise _refuse("the DPoP proof is malformed", detail=exc.description) from None
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(
                ath.encode(), access_token_hash(access_token).encode()):
            raise _refuse("the DPoP proof's ath is not the hash of this access token")
    nonce = claims.get("nonce")
    return DPoPProof(jkt, jti, iat, nonce if isinstance(nonce, str) else None)
