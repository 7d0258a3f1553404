"""Pure helpers of the interactive grants: PKCE, redirect-URI matching, user codes, passwords."""

from __future__ import annotations

import pytest

from scopegate.errors import InvalidGrant, InvalidRequest
from scopegate.server.crypto import passwords
from scopegate.server.device.user_code import (
    USER_CODE_ALPHABET,
    format_user_code,
    new_user_code,
    normalize_user_code,
)
from scopegate.server.oauth2.redirect_uri import (
    add_query,
    is_loopback,
    match_redirect_uri,
    validate_registered,
)
from scopegate.server.pkce import challenge as pkce

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert pkce.s256_challenge(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(("challenge", "method", "why"), [
    (None, "S256", "required"),
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None, "required"),
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain", "plain"),
    ("short", "S256", "43"),
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", "S256", "43"),
])
def test_bad_challenges_are_invalid_request(challenge: str | None, method: str | None,
                                            why: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        pkce.validate_challenge(challenge, method)
    assert info.value.error == "invalid_request"
    assert why in info.value.description


def test_verify_accepts_the_right_verifier_and_refuses_others() -> None:
    stored = pkce.validate_challenge(pkce.s256_challenge(VERIFIER), "S256")
    pkce.verify(stored, VERIFIER)
    with pytest.raises(InvalidGrant) as info:
        pkce.verify(stored, VERIFIER[:-1] + "Y")
    assert info.value.error == "invalid_grant"
    with pytest.raises(InvalidRequest):
        pkce.verify(stored, None)
    with pytest.raises(InvalidRequest):
        pkce.verify(stored, "too-short")


@pytest.mark.parametrize(("registered", "requested", "ok"), [
    ("https://app.example/cb", "https://app.example/cb", True),
    ("https://app.example/cb", "https://app.example/cb/", False),
    ("https://app.example/cb", "https://app.example:8443/cb", False),
    ("https://app.example/cb", "https://APP.example/cb", False),
    ("https://app.example/cb", "https://app.example/cb?x=1", False),
    ("https://app.example/cb", "https://app.example/cb#frag", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:53121/callback", True),
    ("http://127.0.0.1:8080/callback", "http://127.0.0.1:53121/callback", True),
    ("http://[::1]/callback", "http://[::1]:4000/callback", True),
    ("http://127.0.0.1/callback", "http://127.0.0.1:53121/other", False),
    ("http://127.0.0.1/callback", "http://localhost:53121/callback", False),
    ("http://127.0.0.1/callback", "https://127.0.0.1:53121/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:99999/callback", False),
    ("http://localhost/callback", "http://localhost:5000/callback", False),
    ("http://127.0.0.1/callback", "http://evil.example@127.0.0.1:51234/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1@127.0.0.1:51234/callback", False),
    ("http://127.0.0.1/callback", "HTTP://127.0.0.1:51234/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:051234/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:0/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:65536/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:65535/callback", True),
    ("http://127.0.0.1/callback", "http://127.0.0.1:1/callback", True),
    ("http://127.0.0.1/callback", "http://127.0.0.1:/callback", False),
    ("http://127.0.0.1/callback", "http://127.000.000.001:5000/callback", False),
    ("http://[::1]/callback", "http://[0:0:0:0:0:0:0:1]:4000/callback", False),
    ("http://127.0.0.1/callback?a=1", "http://127.0.0.1:4000/callback?a=1", True),
    ("http://127.0.0.1/callback?a=1", "http://127.0.0.1:4000/callback?a=2", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:4000/Callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:4000/callback/", False),
])
def test_redirect_uri_matching(registered: str, requested: str, ok: bool) -> None:
    assert (match_redirect_uri([registered], requested) == requested) is ok


def test_loopback_and_registration_rules() -> None:
    assert is_loopback("http://127.0.0.1:1234/x")
    assert not is_loopback("https://127.0.0.1/x")
    assert validate_registered("http://127.0.0.1/callback")
    for bad in ("http://evil.example/cb", "/relative", "https://a.example/cb#f", ""):
        with pytest.raises(ValueError):
            validate_registered(bad)


def test_add_query_keeps_existing_parameters() -> None:
    assert add_query("https://a.example/cb?x=1", {"code": "c d", "state": "s"}) == \
        "https://a.example/cb?x=1&code=c+d&state=s"


def test_user_codes_are_unambiguous_and_normalize() -> None:
    code = new_user_code()
    assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)
    assert not set("AEIOU01") & set(USER_CODE_ALPHABET)
    shown = format_user_code(code)
    assert shown[4] == "-"
    assert normalize_user_code(shown.lower()) == code
    assert normalize_user_code(f" {code[:4]} {code[4:]} ") == code
    assert normalize_user_code("ABCD-EFGH") is None  # vowels are not in the alphabet
    assert normalize_user_code("BCDF-GHJ") is None
    assert normalize_user_code("B" * 100) is None


def test_passwords_hash_with_argon2id_and_verify() -> None:
    hashed = passwords.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "correct horse")
    assert not passwords.verify_password(hashed, "wrong horse")
    assert not passwords.verify_password("not-a-hash", "correct horse")
    assert not passwords.verify_password_or_dummy(None, "correct horse")
    with pytest.raises(ValueError):
        passwords.hash_password("short")
