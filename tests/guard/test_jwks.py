"""JWKS cache: discovery, rotation (an unknown kid refetches once), refetch rate limit."""

from __future__ import annotations

import asyncio

import pytest

from scopegate.errors import InvalidToken
from scopegate.guard import UpstreamUnavailable

from .authserver import AuthServer, new_es256_key
from .conftest import MakeGuard

pytestmark = pytest.mark.anyio


async def test_keys_are_discovered_from_metadata_and_fetched_once(
        server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard()
    for _ in range(3):
        await guard.authenticator.authenticate(server.mint())  # new token, same key
    assert server.hits["metadata"] == 1
    assert server.hits["jwks"] == 1


async def test_rotation_unknown_kid_refetches_once(server: AuthServer,
                                                   make_guard: MakeGuard) -> None:
    guard = make_guard(jwks_min_refetch_s=0)
    await guard.authenticator.authenticate(server.mint())
    rotated = new_es256_key("k2")
    server.keys.append(rotated)
    await guard.authenticator.authenticate(server.mint(rotated))
    assert server.hits["jwks"] == 2


async def test_unknown_kid_refetch_is_rate_limited(server: AuthServer,
                                                   make_guard: MakeGuard) -> None:
    guard = make_guard(jwks_min_refetch_s=60)
    await guard.authenticator.authenticate(server.mint())
    stranger = new_es256_key("nobody")
    tokens = [server.mint(stranger) for _ in range(20)]
    results = await asyncio.gather(
        *(guard.authenticator.authenticate(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, InvalidToken) for r in results)
    assert server.hits["jwks"] == 1  # random kids cannot make the guard hammer the issuer


async def test_concurrent_unknown_kid_fetches_once(server: AuthServer,
                                                   make_guard: MakeGuard) -> None:
    guard = make_guard(jwks_min_refetch_s=0)
    await guard.authenticator.authenticate(server.mint())
    rotated = new_es256_key("k3")
    server.keys.append(rotated)
    await asyncio.gather(*(guard.authenticator.authenticate(server.mint(rotated))
                           for _ in range(10)))
    assert server.hits["jwks"] == 2


async def test_unreachable_issuer_is_503_not_401(make_guard: MakeGuard,
                                                 server: AuthServer) -> None:
    guard = make_guard(jwks_uri="http://127.0.0.1:9/jwks.json")
    with pytest.raises(UpstreamUnavailable) as caught:
        await guard.authenticator.authenticate(server.mint())
    assert caught.value.status_code == 503
