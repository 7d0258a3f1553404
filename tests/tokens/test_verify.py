"""The one access-token verifier: RFC 9068 ``typ`` in any case, one claims policy."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scopegate.tokens import (
    REQUIRED_CLAIMS,
    JwsSigner,
    TokenVerificationError,
    TokenVerifier,
    access_token_claims,
    generate_key,
)

ISS = "https://issuer.example"
KEY = generate_key()
SIGNER = JwsSigner(KEY)


def token(typ: str = "at+jwt", **changes: Any) -> str:
    claims = access_token_claims(issuer=ISS, subject="usr_1", subject_type="user",
                                 client_id="cli", audience=("https://api",),
                                 scopes=["apps:read"], ttl=300)
    claims.update(changes)
    return SIGNER.sign({k: v for k, v in claims.items() if v is not None}, typ=typ)


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT",
                                 "Application/At+Jwt"])
def test_both_media_type_spellings_pass_in_any_case(typ: str) -> None:
    assert TokenVerifier([KEY], ISS).verify(token(typ))["sub"] == "usr_1"


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", "at+jwt ", "x-at+jwt"])
def test_other_types_are_not_access_tokens(typ: str) -> None:
    with pytest.raises(TokenVerificationError, match="not an access token"):
        TokenVerifier([KEY], ISS).verify(token(typ))


@pytest.mark.parametrize("name", REQUIRED_CLAIMS)
def test_every_required_claim_is_required(name: str) -> None:
    with pytest.raises(TokenVerificationError) as caught:
        TokenVerifier([KEY], ISS).verify(token(**{name: None}))
    assert caught.value.detail == f"no {name} claim"


@pytest.mark.parametrize(("name", "value"), [("sub", ""), ("client_id", 7), ("jti", 42),
                                             ("subject_type", ["user"]),
                                             ("subject_type", "robot"), ("exp", "9999999999"),
                                             ("iat", True)])
def test_claims_of_the_wrong_shape_are_refused(name: str, value: Any) -> None:
    with pytest.raises(TokenVerificationError, match="token rejected"):
        TokenVerifier([KEY], ISS).verify(token(**{name: value}))


def test_the_leeway_is_the_callers_choice() -> None:
    now = int(time.time())
    late = token(exp=now - 10, iat=now - 300)
    with pytest.raises(TokenVerificationError, match="token expired"):
        TokenVerifier([KEY], ISS).verify(late)
    assert TokenVerifier([KEY], ISS, leeway_s=30).verify(late)["sub"] == "usr_1"


def test_aud_is_left_to_the_resource() -> None:
    claims = TokenVerifier([KEY], ISS).verify(token(aud=None))
    assert "aud" not in claims


def test_the_error_says_what_is_safe_to_show_and_logs_the_rest() -> None:
    with pytest.raises(TokenVerificationError) as caught:
        TokenVerifier([KEY], ISS).verify(token("JWT"))
    assert caught.value.description == "not an access token"
    assert str(caught.value) == "not an access token (typ='JWT')"
    assert caught.value.response_headers()["WWW-Authenticate"].startswith(
        'Bearer error="invalid_token"')


@pytest.mark.parametrize("garbage", ["", "é.é.é", "a.b", "a.b.c.d", "e30.e30.e30"])
def test_garbage_is_malformed_never_a_crash(garbage: str) -> None:
    with pytest.raises(TokenVerificationError):
        TokenVerifier([KEY], ISS).verify(garbage)
