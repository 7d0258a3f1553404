"""DPoP at the guard (RFC 9449 §7): bound tokens only with a fresh proof of their key,
every bad proof a 401 with a ``DPoP`` challenge, and the jti replay cache (memory, Redis)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dpop_proofs import new_key, proof, thumbprint, unsigned
from scopegate.guard import GuardConfig
from scopegate.guard.dpop import GuardDPoP

from .authserver import AuthServer
from .conftest import MakeGuard
from .test_starlette import build, client

pytestmark = pytest.mark.anyio

URL = "http://api/apps"


def dpop(token: str, *proofs: str) -> list[tuple[str, str]]:
    return [("Authorization", f"DPoP {token}"), *(("DPoP", p) for p in proofs)]


def bound(server: AuthServer, key: Any) -> str:
    return server.mint(cnf={"jkt": thumbprint(key)})


async def test_a_bound_token_with_a_proof_of_its_key_passes(server: AuthServer,
                                                          make_guard: MakeGuard) -> None:
    key = new_key()
    token = bound(server, key)
    async with client(build(make_guard())) as http:
        first = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                                  access_token=token)))
        again = await http.get("/apps?page=2", headers=dpop(token, proof(
            key, "GET", "http://API:80/apps", access_token=token)))
    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text


def _bad_requests(server: AuthServer, key: Any, token: str) -> dict[str, list[tuple[str, str]]]:
    good = proof(key, "GET", URL, access_token=token)
    jwk = key.as_dict(private=False)
    now = int(time.time())
    return {
        "sent as Bearer": [("Authorization", f"Bearer {token}")],
        "sent as Bearer with a proof": [("Authorization", f"Bearer {token}"), ("DPoP", good)],
        "no proof": dpop(token),
        "another key": dpop(token, proof(new_key(), "GET", URL, access_token=token)),
        "another method": dpop(token, proof(key, "POST", URL, access_token=token)),
        "another URL": dpop(token, proof(key, "GET", "http://api/other", access_token=token)),
        "old iat": dpop(token, proof(key, "GET", URL, access_token=token, iat=now - 3600)),
        "another token's ath": dpop(token, proof(key, "GET", URL, access_token="x.y.z")),
        "alg none": dpop(token, unsigned({"alg": "none", "typ": "dpop+jwt", "jwk": jwk},
                                         {"jti": "a", "htm": "GET", "htu": URL, "iat": now})),
        "alg HS256": dpop(token, unsigned({"alg": "HS256", "typ": "dpop+jwt", "jwk": jwk},
                                          {"jti": "a", "htm": "GET", "htu": URL, "iat": now},
                                          b"k" * 32)),
        "private key in jwk": dpop(token, proof(key, "GET", URL, access_token=token,
                                                jwk=key.as_dict(private=True))),
        "oversized": dpop(token, "a" * 5000),
        "two DPoP headers": dpop(token, good, proof(key, "GET", URL, access_token=token)),
        "unbound token as DPoP": dpop(server.mint(), proof(key, "GET", URL,
                                                           access_token=server.mint())),
    }


BAD_CASES = ["sent as Bearer", "sent as Bearer with a proof", "no proof", "another key",
             "another method", "another URL", "old iat", "another token's ath", "alg none",
             "alg HS256", "private key in jwk", "oversized", "two DPoP headers",
             "unbound token as DPoP"]


@pytest.mark.parametrize("case", BAD_CASES)
async def test_every_bad_presentation_is_a_401_with_a_dpop_challenge(
        server: AuthServer, make_guard: MakeGuard, case: str) -> None:
    key = new_key()
    token = bound(server, key)
    async with client(build(make_guard())) as http:
        warm = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                                 access_token=token)))
        assert warm.status_code == 200  # cached now: the cache hit must check again
        response = await http.get("/apps", headers=_bad_requests(server, key, token)[case])
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] in ("invalid_dpop_proof", "invalid_token")
    assert body["error_description"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('DPoP realm="scopegate", algs="ES256 EdDSA RS256 PS256"')
    assert f'error="{body["error"]}"' in challenge


async def test_a_reused_proof_is_refused(server: AuthServer, make_guard: MakeGuard) -> None:
    key = new_key()
    token = bound(server, key)
    once = proof(key, "GET", URL, access_token=token)
    async with client(build(make_guard())) as http:
        assert (await http.get("/apps", headers=dpop(token, once))).status_code == 200
        replay = await http.get("/apps", headers=dpop(token, once))
    assert replay.status_code == 401
    assert "already used" in replay.json()["error_description"]


async def test_behind_a_proxy_htu_is_the_public_url(server: AuthServer,
                                                   make_guard: MakeGuard) -> None:
    key = new_key()
    token = bound(server, key)
    public = "https://api.example.com/apps"
    async with client(build(make_guard(public_url="https://API.example.com/"))) as http:
        ok = await http.get("/apps", headers=dpop(token, proof(key, "GET", public,
                                                               access_token=token)))
        internal = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                                     access_token=token)))
    assert ok.status_code == 200, ok.text
    assert internal.status_code == 401


async def test_with_a_nonce_secret_the_guard_asks_for_its_nonce(
        server: AuthServer, make_guard: MakeGuard) -> None:
    key = new_key()
    token = bound(server, key)
    async with client(build(make_guard(dpop_nonce_secret="s" * 32))) as http:
        asked = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                                  access_token=token)))
        nonce = asked.headers["DPoP-Nonce"]
        ok = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                               access_token=token,
                                                               nonce=nonce)))
    assert asked.status_code == 401
    assert 'error="use_dpop_nonce"' in asked.headers["WWW-Authenticate"]
    assert asked.json()["error"] == "use_dpop_nonce"
    assert ok.status_code == 200, ok.text


@pytest.mark.redis
async def test_replicas_share_the_replay_cache_in_redis(server: AuthServer,
                                                       make_guard: MakeGuard,
                                                       redis_url: str) -> None:
    key = new_key()
    token = bound(server, key)
    once = proof(key, "GET", URL, access_token=token)
    first, second = make_guard(redis_url=redis_url), make_guard(redis_url=redis_url)
    try:
        async with client(build(first)) as a, client(build(second)) as b:
            assert (await a.get("/apps", headers=dpop(token, once))).status_code == 200
            replay = await b.get("/apps", headers=dpop(token, once))
        assert replay.status_code == 401
        assert "already used" in replay.json()["error_description"]
    finally:
        await first.aclose()
        await second.aclose()


def test_bad_dpop_settings_are_refused_at_start_up() -> None:
    from scopegate.config_checks import ConfigError

    for bad in ({"public_url": "ftp://x"}, {"dpop_max_age_s": 0},
                {"dpop_nonce_secret": ""}):
        with pytest.raises(ConfigError):
            GuardConfig(issuer="https://as.example", audience_mode="off", **bad)
    assert GuardDPoP.from_config(GuardConfig(issuer="https://as.example",
                                             audience_mode="off")).nonces is None


async def test_a_cache_hit_costs_one_signature_check(server: AuthServer,
                                                    make_guard: MakeGuard) -> None:
    key = new_key()
    token = bound(server, key)
    guard = make_guard()
    async with client(build(guard)) as http:
        for _ in range(5):
            r = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                                  access_token=token)))
            assert r.status_code == 200
    assert guard.authenticator.verify_count == 1  # the token: verified once, then cached
    assert guard.authenticator.dpop.checks == 5  # one proof signature per request


async def test_step_up_challenge_still_names_the_scope(server: AuthServer,
                                                      make_guard: MakeGuard) -> None:
    key = new_key()
    token = server.mint(cnf={"jkt": thumbprint(key)}, scope="api")
    async with client(build(make_guard())) as http:
        r = await http.get("/apps", headers=dpop(token, proof(key, "GET", URL,
                                                              access_token=token)))
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert 'scope="apps:read"' in r.headers["WWW-Authenticate"]


def test_flask_checks_dpop_the_same_way(server: AuthServer, make_guard: MakeGuard) -> None:
    from .test_flask import app as flask_app_fixture

    build_flask = flask_app_fixture.__wrapped__  # type: ignore[attr-defined]
    key = new_key()
    token = bound(server, key)
    url = "http://localhost/apps"
    apps = build_flask(make_guard)
    app = next(apps)
    http = app.test_client()
    ok = http.get("/apps", headers=dpop(token, proof(key, "GET", url, access_token=token)))
    as_bearer = http.get("/apps", headers={"Authorization": f"Bearer {token}"})
    twice = http.get("/apps", headers=dpop(token, proof(key, "GET", url, access_token=token),
                                           proof(key, "GET", url, access_token=token)))
    wrong_url = http.get("/apps", headers=dpop(token, proof(key, "GET", "http://x/apps",
                                                            access_token=token)))
    next(apps, None)
    assert ok.status_code == 200, ok.text
    for refused in (as_bearer, twice, wrong_url):
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("DPoP ")
