"""The guard's JWT check is never looser than PyJWT's own ``jwt.decode``.

The shared verifier (``scopegate.tokens``) parses the compact form itself (strict
base64url in C) and lets PyJWT's pinned algorithm object check the signature. These
tests hold the guard to PyJWT's full decoder on the shared corpus (many spellings of one
token, then header and claim changes), and cover each header and claim rule.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from scopegate.errors import InvalidToken
from scopegate.tokens import REQUIRED_CLAIMS
from tokens.corpus import ALPHABET, header_and_claim_cases, spellings

from .authserver import AuthServer
from .conftest import MakeGuard

pytestmark = pytest.mark.anyio

def _pyjwt_accepts(server: AuthServer, token: str) -> bool:
    key = server.keys[0]
    try:
        jwt.decode(token, key.private.public_key(), algorithms=[key.alg], issuer=server.issuer,
                   leeway=30, options={"require": list(REQUIRED_CLAIMS), "verify_aud": False})
    except jwt.PyJWTError:
        return False
    return True


async def _guard_accepts(guard: Any, token: str) -> bool:
    try:
        await guard.authenticator.authenticate(token)
    except InvalidToken:
        return False
    return True


async def test_no_spelling_of_a_token_passes_that_pyjwt_refuses(
        server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard()
    token = server.mint()
    assert await _guard_accepts(guard, token) and _pyjwt_accepts(server, token)
    variants = spellings(token)
    assert len(variants) > 30
    for variant in variants:
        if await _guard_accepts(guard, variant):
            assert _pyjwt_accepts(server, variant), variant
            pytest.fail(f"a second spelling of one token was accepted: {variant!r}")
    await guard.aclose()


async def test_no_header_or_claim_change_passes_that_pyjwt_refuses(
        server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard()
    looser = []
    for name, (header, claims) in header_and_claim_cases().items():
        token = server.mint(header=header, **claims)
        if await _guard_accepts(guard, token) and not _pyjwt_accepts(server, token):
            looser.append(name)
    assert looser == []
    await guard.aclose()


async def test_padded_segments_are_refused(server: AuthServer, make_guard: MakeGuard) -> None:
    # PyJWT tolerates trailing '=' (some issuers add it); scopegate never emits it, and
    # refusing it keeps one token = one cache entry = one rate-limit bucket.
    guard = make_guard()
    header, payload, signature = server.mint().split(".")
    with pytest.raises(InvalidToken):
        await guard.authenticator.authenticate(f"{header}.{payload}.{signature}==")


@pytest.mark.parametrize("extra", [{"crit": ["exp"]}, {"crit": ["b64"], "b64": False}])
async def test_critical_and_unencoded_payload_headers_are_refused(
        server: AuthServer, make_guard: MakeGuard, extra: dict[str, Any]) -> None:
    guard = make_guard()
    with pytest.raises(InvalidToken):
        await guard.authenticator.authenticate(server.mint(header=extra))


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": int(time.time()) + 600},  # issued in the future, beyond the leeway
        {"exp": "9999999999"},  # NumericDate must be a JSON number
        {"exp": True},
        {"nbf": "0"},
        {"iat": None},  # required
        {"exp": None},  # required
        {"sub": None},  # required
        {"jti": 42},
        {"sub": 7},
        {"subject_type": ["user"]},  # not hashable: a 401, never a crash
    ],
)
async def test_claim_rules(server: AuthServer, make_guard: MakeGuard,
                           claims: dict[str, Any]) -> None:
    guard = make_guard()
    with pytest.raises(InvalidToken) as caught:
        await guard.authenticator.authenticate(server.mint(**claims))
    assert caught.value.status_code == 401


async def test_clock_skew_within_leeway_is_accepted(server: AuthServer,
                                                    make_guard: MakeGuard) -> None:
    guard = make_guard(leeway_s=30)
    now = int(time.time())
    auth = await guard.authenticator.authenticate(server.mint(iat=now + 10, nbf=now + 10))
    assert auth.subject == "user-1"


async def test_expired_token_says_so(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(leeway_s=0)
    with pytest.raises(InvalidToken) as caught:
        await guard.authenticator.authenticate(server.mint(exp=int(time.time()) - 1))
    assert "expired" in caught.value.description


async def test_every_non_canonical_last_character_is_refused(
        server: AuthServer, make_guard: MakeGuard) -> None:
    # Base64url leaves unused bits in a segment's last character; exactly one character
    # per group is canonical. Try every character at the end of the payload segment.
    guard = make_guard()
    accepted = []
    for pad in range(3):  # three payload lengths: len % 4 == 0, 2 and 3 all occur
        token = server.mint(sub="user-1" + "x" * pad)
        header, payload, signature = token.split(".")
        for char in ALPHABET:
            variant = f"{header}.{payload[:-1]}{char}.{signature}"
            if variant != token and await _guard_accepts(guard, variant):
                accepted.append(variant)
    assert accepted == []
    await guard.aclose()
