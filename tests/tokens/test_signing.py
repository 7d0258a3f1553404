"""Our fast JWS signer, checked with joserfc; the PyJWT verifier refuses every forgery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey

from scopegate.tokens import (
    JwsSigner,
    SigningKeyPair,
    TokenVerificationError,
    TokenVerifier,
    access_token_claims,
    generate_key,
)

ISS = "https://issuer.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(ttl: int = 60, **kw: object) -> dict[str, object]:
    return access_token_claims(issuer=ISS, subject="svc", subject_type="service",
                               client_id="svc", audience=("https://api",),
                               scopes=["api", "apps:read"], ttl=ttl, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("alg", "key_cls"), [("ES256", ECKey), ("EdDSA", OKPKey)])
@pytest.mark.parametrize("typ", ["at+jwt", "JWT"])
def test_tokens_verify_with_an_independent_library(alg: str, key_cls: type, typ: str) -> None:
    key = generate_key(alg)
    token = JwsSigner(key).sign(claims(), typ=typ)
    verified = jose_jwt.decode(token, key_cls.import_key(key.public_jwk()), algorithms=[alg])
    assert verified.header == {"alg": alg, "kid": key.kid, "typ": typ}
    assert verified.claims["scope"] == "api apps:read"
    assert verified.claims["aud"] == "https://api"


def test_es256_signature_is_raw_r_s_of_64_bytes() -> None:
    token = JwsSigner(generate_key("ES256")).sign({"a": 1})
    sig = token.rsplit(".", 1)[1]
    assert len(base64.urlsafe_b64decode(sig + "==")) == 64


def test_verifier_accepts_our_tokens_and_pins_typ() -> None:
    key = generate_key()
    verifier = TokenVerifier([key], ISS)
    token = JwsSigner(key).sign(claims(), typ="at+jwt")
    assert verifier.verify(token)["sub"] == "svc"
    with pytest.raises(TokenVerificationError, match="typ"):
        verifier.verify(JwsSigner(key).sign(claims(), typ="JWT"))


def _forge(header: dict[str, object], payload: dict[str, object], sig: bytes) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(sig)


def test_alg_none_is_refused() -> None:
    key = generate_key()
    token = _forge({"alg": "none", "kid": key.kid, "typ": "at+jwt"}, claims(), b"")
    with pytest.raises(TokenVerificationError):
        TokenVerifier([key], ISS).verify(token)


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    key = generate_key()
    header = {"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}
    payload = claims()
    signing_input = (b64(json.dumps(header).encode()) + "."
                     + b64(json.dumps(payload).encode())).encode()
    sig = hmac.new(key.public_pem(), signing_input, hashlib.sha256).digest()
    with pytest.raises(TokenVerificationError, match="alg"):
        TokenVerifier([key], ISS).verify(signing_input.decode() + "." + b64(sig))


def test_unknown_kid_is_refused() -> None:
    key, stranger = generate_key(), generate_key()
    token = JwsSigner(stranger).sign(claims(), typ="at+jwt")
    with pytest.raises(TokenVerificationError, match="unknown signing key"):
        TokenVerifier([key], ISS).verify(token)


def test_key_confusion_between_our_own_keys_is_refused() -> None:
    es, ed = generate_key("ES256"), generate_key("EdDSA")
    # An EdDSA signature presented under the ES256 key's kid.
    forged = SigningKeyPair(kid=es.kid, alg="EdDSA", private_key=ed.private_key)
    token = JwsSigner(forged).sign(claims(), typ="at+jwt")
    with pytest.raises(TokenVerificationError, match="alg"):
        TokenVerifier([es, ed], ISS).verify(token)


def test_tampered_expired_and_foreign_issuer_tokens_are_refused() -> None:
    key = generate_key()
    signer, verifier = JwsSigner(key), TokenVerifier([key], ISS)
    head, _body, sig = signer.sign(claims(), typ="at+jwt").split(".")
    evil = b64(json.dumps({**claims(), "scope": "scopegate:all"}).encode())
    with pytest.raises(TokenVerificationError):
        verifier.verify(f"{head}.{evil}.{sig}")
    expired = claims(now=int(time.time()) - 3600)
    with pytest.raises(TokenVerificationError):
        verifier.verify(signer.sign(expired, typ="at+jwt"))
    with pytest.raises(TokenVerificationError):
        TokenVerifier([key], "https://other").verify(signer.sign(claims(), typ="at+jwt"))


def test_keys_round_trip_through_pem_with_a_stable_kid() -> None:
    for alg in ("ES256", "EdDSA", "RS256"):
        key = generate_key(alg)
        again = SigningKeyPair.from_pem(key.private_pem(), alg)
        assert again.kid == key.kid == key.thumbprint()
    with pytest.raises(ValueError, match="EdDSA needs"):
        SigningKeyPair.from_pem(generate_key("ES256").private_pem(), "EdDSA")
    with pytest.raises(ValueError, match="unsupported"):
        generate_key("HS256")
