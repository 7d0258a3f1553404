"""Opaque tokens and API keys through RFC 7662 introspection, over real HTTP."""

from __future__ import annotations

import time

import pytest

from scopegate.errors import InvalidToken
from scopegate.guard import ApiKeyCaller, ServiceCaller, TokenKind, UpstreamUnavailable

from .authserver import AUDIENCE, AuthServer
from .conftest import MakeGuard

pytestmark = pytest.mark.anyio

API_KEY = "sg_3xAmPlEkEy0123456789abcdefABCDEF_1a2b3c"


def active(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "active": True, "scope": "apps:read apps:run", "client_id": "svc", "sub": "svc",
        "aud": AUDIENCE, "exp": int(time.time()) + 600, "iat": int(time.time()),
        "token_type": "access_token", "subject_type": "service",
    }
    body.update(extra)
    return body


async def test_opaque_token_is_introspected_then_cached(server: AuthServer,
                                                        make_guard: MakeGuard) -> None:
    server.introspection["opaque-1"] = active(iss=server.issuer)
    guard = make_guard()
    auth = await guard.authenticator.authenticate("opaque-1")
    assert auth.kind is TokenKind.OPAQUE and auth.subject_type == "service"
    await guard.authenticator.authenticate("opaque-1")
    assert server.hits["introspect"] == 1
    assert auth.cached_until <= time.time() + guard.config.introspection_ttl_s


@pytest.mark.parametrize("marker", [{"token_type": "Bearer", "key_id": "k1"},
                                    {"token_type": "api_key"}])  # today's answer, then older
async def test_api_key_mounts_api_key_caller(server: AuthServer, make_guard: MakeGuard,
                                             marker: dict[str, str]) -> None:
    server.introspection[API_KEY] = active(sub="owner-1", subject_type="user", **marker)
    guard = make_guard()
    auth = await guard.authenticator.authenticate(API_KEY)
    from scopegate.guard import default_caller

    caller = default_caller(auth)
    assert isinstance(caller, ApiKeyCaller) and caller.subject == "owner-1"
    assert not isinstance(default_caller(auth), ServiceCaller)


async def test_inactive_token_is_401_and_negatively_cached(server: AuthServer,
                                                          make_guard: MakeGuard) -> None:
    guard = make_guard()
    for _ in range(3):
        with pytest.raises(InvalidToken):
            await guard.authenticator.authenticate("revoked-token")
    assert server.hits["introspect"] == 1


async def test_foreign_issuer_in_introspection_is_refused(server: AuthServer,
                                                          make_guard: MakeGuard) -> None:
    server.introspection["opaque-2"] = active(iss="https://other.example")
    guard = make_guard()
    with pytest.raises(InvalidToken):
        await guard.authenticator.authenticate("opaque-2")


async def test_introspection_failure_is_503(server: AuthServer, make_guard: MakeGuard) -> None:
    server.introspect_status = 500
    guard = make_guard()
    with pytest.raises(UpstreamUnavailable):
        await guard.authenticator.authenticate("opaque-3")
    wrong_creds = make_guard(client_secret="wrong")
    server.introspect_status = 200
    with pytest.raises(UpstreamUnavailable):  # our misconfiguration is not the caller's fault
        await wrong_creds.authenticator.authenticate("opaque-3")


async def test_without_client_credentials_opaque_tokens_are_refused(
        server: AuthServer, make_guard: MakeGuard) -> None:
    server.introspection["opaque-4"] = active()
    guard = make_guard(client_id=None, client_secret=None)
    with pytest.raises(InvalidToken):
        await guard.authenticator.authenticate("opaque-4")
    assert server.hits["introspect"] == 0
