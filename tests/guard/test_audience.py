"""Audience rollout: off, warn (accepted and counted by client and SDK), enforce."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from scopegate.errors import InvalidToken
from scopegate.guard import AudienceMode, sdk_product
from scopegate.guard.audience import SdkLabels, sdk_product_version

from .authserver import AUDIENCE, AuthServer
from .conftest import MakeGuard

pytestmark = pytest.mark.anyio


def missing_count(client_id: str, sdk: str, version: str = "0.1.0") -> float:
    value = REGISTRY.get_sample_value("scopegate_guard_audience_missing_total",
                                      {"client_id": client_id, "sdk": sdk,
                                       "sdk_version": version})
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
    ok_before = missing_count("cli", "scopegate-python", "0.2.0")
    await guard.authenticator.authenticate(server.mint(), user_agent="scopegate-python/0.2.0")
    assert missing_count("cli", "scopegate-python", "0.2.0") == ok_before


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


@pytest.mark.parametrize(
    ("agent", "labels"),
    [
        ("rapidata-python-sdk/2.3.1 scopegate-python/0.1.0", ("rapidata-python-sdk", "2.3.1")),
        ("python-httpx/0.28.1", ("python-httpx", "0.28.1")),
        ("curl", ("curl", "")),
        ("sdk/1.0;rm\x1b[31m", ("sdk", "1.0_rm__31m")),  # a safe charset only
        ("sdk/" + "9" * 500, ("sdk", "9" * 32)),  # and a bounded length
        (None, ("unknown", "")),
    ],
)
def test_product_and_version_from_user_agent(agent: str | None,
                                             labels: tuple[str, str]) -> None:
    assert sdk_product_version(agent) == labels


def test_label_pairs_are_bounded_per_process() -> None:
    labels = SdkLabels(limit=3)
    assert [labels.label(f"sdk/1.{n}") for n in range(3)] == [
        ("sdk", "1.0"), ("sdk", "1.1"), ("sdk", "1.2")]
    assert labels.label("sdk/9.9") == ("other", "other")
    assert labels.label("evil/" + "x" * 20) == ("other", "other")
    assert labels.label("sdk/1.1") == ("sdk", "1.1")  # pairs already seen keep their labels
