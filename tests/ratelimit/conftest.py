"""What the limiter tests share: asyncio under anyio, and a plain Redis client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sync_redis(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    """A plain client for inspecting the server; deletes the test's keys afterwards."""
    client = redis.Redis.from_url(redis_url)
    yield client
    keys = list(client.scan_iter(match=f"{redis_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
