"""Audience rollout: off, warn (accepted and counted by client and SDK), enforce."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from scopegate.errors import InvalidToken
from scopegate.guard import AudienceMode, sdk_product

from .authserver import AUDIENCE, AuthServer
from .conftest import MakeGuard

pytestmark = pytest.mark.anyio


def missing_count(client_id: str, sdk: str) -> float:
    value = REGISTRY.get_sample_value("scopegate_guard_audience_missing_total",
                                      {"client_id": client_id, "sdk": sdk})
    return value or 0.0


async def test_enforce_refuses_token_without_audience(server: AuthServer,
                                                      make_guard: MakeGuard) -> None:
    guard = make_guard(audience_mode="enforce")
    with pytest.raises(InvalidToken) as caught:
        await guard.authenticator.authenticate(server.mint(aud="https://other.example"))
    assert caught.value.status_code == 401
    await guard.authenticator.authenticate(server.mint(aud=[AUDIENCE, "x"]))  # list form


async def test_warn_accepts_and_counts_by_client_and_sdk(server: AuthServer,
                                                         make_guard: MakeGuard) -> None:
    guard = make_guard(audience_mode="warn")
    token = server.mint(aud=None, client_id="old-sdk-client")
    before = missing_count("old-sdk-client", "scopegate-python")
    for _ in range(2):  # counted per request, cached or not
        await guard.authenticator.authenticate(
            token, user_agent="scopegate-python/0.1.0 httpx/0.28")
    assert missing_count("old-sdk-client", "scopegate-python") == before + 2
    ok_before = missing_count("cli", "scopegate-python")
    await guard.authenticator.authenticate(server.mint(), user_agent="scopegate-python/0.2.0")
    assert missing_count("cli", "scopegate-python") == ok_before


async def test_off_ignores_audience(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(audience_mode="off")
    await guard.authenticator.authenticate(server.mint(aud="https://other.example"))


async def test_switching_to_enforce_applies_to_cached_tokens(server: AuthServer,
                                                             make_guard: MakeGuard) -> None:
    guard = make_guard(audience_mode="warn")
    token = server.mint(aud=None)
    await guard.authenticator.authenticate(token)
    guard.authenticator.audience_mode = AudienceMode.ENFORCE
    with pytest.raises(InvalidToken):
        await guard.authenticator.authenticate(token)


@pytest.mark.parametrize(
    ("agent", "product"),
    [
        ("scopegate-python/0.1.0", "scopegate-python"),
        ("scopegate-cli/1.2 (linux) python-httpx/0.28", "scopegate-cli"),
        ("curl/8.5.0", "curl"),
        ("", "unknown"),
        (None, "unknown"),
        ("(((", "unknown"),
    ],
)
def test_sdk_product_from_user_agent(agent: str | None, product: str) -> None:
    assert sdk_product(agent) == product
