"""Seed 000: during an audience rollout the operator sees which SDK versions lag behind.

The example API's real guard runs in ``warn`` mode for an audience the server's tokens do
not carry yet (the next API URL); the SDK calls it with tokens the real server issued.
The Prometheus counter then names each caller's product AND version: scopegate's own SDK
as ``scopegate-python/<version>``, an API's SDK built on it by the name it gives itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from _servers import READ_PATH, Stack
from examples.example_api import build_app
from prometheus_client import REGISTRY

from scopegate import __version__
from scopegate.client import AsyncApiClient, session_from_env
from scopegate.client._cache import TokenCache
from scopegate.guard import Guard, GuardConfig
from scopegate.ratelimit import MemoryRateLimiter

NEXT_AUDIENCE = "https://next.scopegate.example"


def missing(client_id: str, sdk: str, version: str) -> float:
    value = REGISTRY.get_sample_value("scopegate_guard_audience_missing_total",
                                      {"client_id": client_id, "sdk": sdk,
                                       "sdk_version": version})
    return value or 0.0


def call_api(stack: Stack, config: Path, **client_options: str) -> int:
    """One real SDK call (AsyncApiClient) to a warn-mode guard; return the status."""
    session = session_from_env("svc-readonly", config=config, cache=TokenCache(), interactive=False)
    session.get_token()  # from the real server; the API client below reaches only the API

    async def run() -> int:
        guard = Guard(GuardConfig(issuer=stack.issuer, audience=NEXT_AUDIENCE,
                                  audience_mode="warn"), limiter=MemoryRateLimiter())
        app = build_app(guard, {"demo": frozenset({"*"})})
        try:
            async with AsyncApiClient(session, base_url="http://api.test",
                                      transport=httpx.ASGITransport(app=app),
                                      **client_options) as api:
                return (await api.get(READ_PATH)).status_code
        finally:
            await guard.aclose()

    return asyncio.run(run())


def test_the_counter_names_scopegate_sdk_and_its_version(stack: Stack, config: Path) -> None:
    client = stack.service_client_id
    before = missing(client, "scopegate-python", __version__)
    assert call_api(stack, config) == 200  # accepted: warn mode
    assert missing(client, "scopegate-python", __version__) == before + 1
    assert missing(client, "python-httpx", "") == 0.0


def test_an_api_sdk_names_itself_first(stack: Stack, config: Path) -> None:
    client = stack.service_client_id
    before = missing(client, "rapidata-python-sdk", "2.3.1")
    assert call_api(stack, config, user_agent="rapidata-python-sdk/2.3.1") == 200
    assert missing(client, "rapidata-python-sdk", "2.3.1") == before + 1
