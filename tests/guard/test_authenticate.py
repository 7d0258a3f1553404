"""Authenticator: JWT verification rules, the auth-context cache, the per-IP failure budget."""

from __future__ import annotations

import hashlib
import time

import jwt
import pytest

from scopegate.errors import InvalidToken, RateLimited
from scopegate.guard import RateLimit, TokenKind

from .authserver import AuthServer, new_eddsa_key
from .conftest import CountingLimiter, MakeGuard

pytestmark = pytest.mark.anyio


async def test_valid_jwt_gives_expanded_scopes_and_identity(server: AuthServer,
                                                            make_guard: MakeGuard) -> None:
    guard = make_guard()
    auth = await guard.authenticator.authenticate(server.mint(scope="apps:run", sub="u-7"))
    assert auth.kind is TokenKind.JWT
    assert auth.subject == "u-7" and auth.client_id == "cli"
    assert {"apps:run", "apps:read"} <= auth.scopes  # apps:run implies apps:read
    await guard.aclose()


@pytest.mark.parametrize(
    ("claims", "header"),
    [
        # exp and nbf are seconds from when the test runs, not from collection: a slow
        # suite once reached this test more than 600 s after collecting it.
        ({"exp": -120}, {}),  # expired beyond the 30 s leeway
        ({"iss": "https://evil.example"}, {}),
        ({"nbf": 600}, {}),  # not yet valid
        ({}, {"typ": "JWT"}),  # an ID token or other JWT, not an access token
        ({"client_id": None}, {}),
        ({"subject_type": "robot"}, {}),
    ],
)
async def test_bad_jwt_is_invalid_token(server: AuthServer, make_guard: MakeGuard,
                                        claims: dict[str, object],
                                        header: dict[str, str]) -> None:
    guard = make_guard()
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") and isinstance(v, int) else v
              for k, v in claims.items()}
    with pytest.raises(InvalidToken) as caught:
        await guard.authenticator.authenticate(server.mint(header=header, **claims))
    assert caught.value.status_code == 401
    challenge = caught.value.response_headers()["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="scopegate", error="invalid_token"')


async def test_nbf_within_leeway_is_accepted(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(leeway_s=30)
    await guard.authenticator.authenticate(server.mint(nbf=int(time.time()) + 10))


async def test_alg_none_and_hs256_are_refused(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard()
    claims = jwt.decode(server.mint(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt", "kid": "k1"})
    # HS256 keyed with the public JWK text: the classic algorithm-confusion attack.
    public_text = str(server.keys[0].public_jwk())
    hmac = jwt.encode(claims, public_text, algorithm="HS256",
                      headers={"typ": "at+jwt", "kid": "k1"})
    for token in (unsigned, hmac):
        with pytest.raises(InvalidToken):
            await guard.authenticator.authenticate(token)


async def test_signature_by_unknown_key_is_refused(server: AuthServer,
                                                   make_guard: MakeGuard) -> None:
    guard = make_guard()
    forged = server.mint(new_eddsa_key("k1"))  # same kid, other key and algorithm
    with pytest.raises(InvalidToken):
        await guard.authenticator.authenticate(forged)


async def test_missing_and_malformed_tokens(make_guard: MakeGuard) -> None:
    guard = make_guard()
    not_json = "bm90IGpzb24"  # base64url of "not json"
    a_list = "WzEsMl0"  # base64url of "[1,2]"
    for token in (None, "", "not a token", "x" * 10_000, "a.b.c", f"{not_json}.e30.c2ln",
                  f"{a_list}.e30.c2ln", "====.e30.c2ln", "e30.e30.c2ln"):
        with pytest.raises(InvalidToken):
            await guard.authenticator.authenticate(token)


async def test_cache_hit_does_no_verification(server: AuthServer, make_guard: MakeGuard,
                                              limiter: CountingLimiter) -> None:
    guard = make_guard()
    auth = guard.authenticator
    token = server.mint()
    first = await auth.authenticate(token)
    fetches, verifies = server.hits["jwks"], auth.verify_count
    for _ in range(5):
        assert await auth.authenticate(token) is first
    assert auth.verify_count == verifies == 1
    assert server.hits["jwks"] == fetches
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert limiter.hits[digest] == 6  # the limit still counts every request
    assert first.token_hash == digest  # one name for the cache entry and the bucket


async def test_cache_entry_never_outlives_exp(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(leeway_s=0)
    exp = int(time.time()) + 2
    auth = await guard.authenticator.authenticate(server.mint(exp=exp))
    assert auth.cached_until <= exp


async def test_failed_authentications_are_limited_per_ip(server: AuthServer,
                                                         make_guard: MakeGuard) -> None:
    guard = make_guard(failed_auth_limit=RateLimit(3, 60))
    auth = guard.authenticator
    for i in range(3):
        with pytest.raises(InvalidToken):
            await auth.authenticate(f"random-{i}.x.y", client_ip="10.0.0.9")
    with pytest.raises(RateLimited) as caught:
        await auth.authenticate("random-4.x.y", client_ip="10.0.0.9")
    assert caught.value.retry_after_ms > 0
    # A valid token from the throttled address still passes: it is verified on its merits.
    await auth.authenticate(server.mint(), client_ip="10.0.0.9")
    await auth.authenticate(server.mint(), client_ip="10.0.0.10")  # other IPs unaffected


async def test_eddsa_tokens_verify(server: AuthServer, make_guard: MakeGuard) -> None:
    key = new_eddsa_key("ed1")
    server.keys.append(key)
    guard = make_guard()
    auth = await guard.authenticator.authenticate(server.mint(key))
    assert auth.subject == "user-1"
