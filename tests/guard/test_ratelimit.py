"""The guard's per-token limit on the Redis limiter: shared by replicas, keyed by sha256(token)."""

from __future__ import annotations

import hashlib

import pytest
import redis.asyncio as redis_async

from scopegate.errors import RateLimited
from scopegate.guard import RateLimit
from scopegate.ratelimit import RedisRateLimiter, create_rate_limiter

from .authserver import AuthServer
from .conftest import MakeGuard

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


async def test_two_replicas_share_one_budget(server: AuthServer, make_guard: MakeGuard,
                                             redis_url: str, redis_prefix: str) -> None:
    replicas = [make_guard(limiter=create_rate_limiter(redis_url, prefix=redis_prefix),
                           rate_limit=RateLimit(5, 60)) for _ in range(2)]
    token = server.mint()
    admitted = refused = 0
    for i in range(10):
        try:
            await replicas[i % 2].authenticator.authenticate(token)
            admitted += 1
        except RateLimited as exc:
            refused += 1
            assert exc.retry_after_ms > 0
    assert (admitted, refused) == (5, 5)
    client = redis_async.from_url(redis_url)
    try:
        keys = [k.decode() async for k in client.scan_iter(f"{redis_prefix}*")]
    finally:
        await client.aclose()
    assert keys and all(hashlib.sha256(token.encode()).hexdigest() in k for k in keys)
    assert not any(token[:20] in k for k in keys)  # the raw token never reaches Redis
    for guard in replicas:
        await guard.aclose()


async def test_bare_redis_limiter_down_is_503_not_500(server: AuthServer,
                                                      make_guard: MakeGuard) -> None:
    from scopegate.guard import UpstreamUnavailable

    guard = make_guard(limiter=RedisRateLimiter("redis://127.0.0.1:9/0", socket_timeout=0.2))
    with pytest.raises(UpstreamUnavailable):
        await guard.authenticator.authenticate(server.mint())
