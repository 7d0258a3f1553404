"""The one Bearer reader (RFC 6750 §2.1): case-insensitive scheme, one token68, a size cap."""

from __future__ import annotations

import pytest

from scopegate.errors import InvalidToken
from scopegate.tokens import MAX_BEARER_LENGTH, check_bearer_token, parse_bearer


@pytest.mark.parametrize("header", ["Bearer abc.def", "bearer abc.def", "BEARER abc.def",
                                    "Bearer   abc.def  "])
def test_the_scheme_is_case_insensitive(header: str) -> None:
    assert parse_bearer(header) == "abc.def"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Bearer    ",
                                    "Basic dXNlcjpwYXNz", "Bearerabc", "Bearer\tabc",
                                    "DPoP abc", "Token abc"])
def test_no_bearer_credentials_is_none(header: str | None) -> None:
    assert parse_bearer(header) is None


@pytest.mark.parametrize("token", ["a1-._~+/", "eyJ.eyJ.sig", "abc==", "x" * MAX_BEARER_LENGTH])
def test_one_b64token_passes(token: str) -> None:
    assert check_bearer_token(token) == token


@pytest.mark.parametrize("token", ["a b", "a,b", "abc=d", "=abc", "ab\u00e9", "a\nb",
                                   "x" * (MAX_BEARER_LENGTH + 1)])
def test_anything_else_is_a_malformed_token(token: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        check_bearer_token(token)
    assert caught.value.error == "invalid_token" and caught.value.status_code == 401
    assert caught.value.description == "malformed bearer token"


def test_a_caller_may_lower_the_cap() -> None:
    check_bearer_token("x" * 64, max_length=64)
    with pytest.raises(InvalidToken):
        check_bearer_token("x" * 65, max_length=64)
