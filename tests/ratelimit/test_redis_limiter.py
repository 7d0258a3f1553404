"""The Redis limiter against the real server: exact under concurrency and across processes."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from scopegate.ratelimit import RedisRateLimiter

HAMMER = Path(__file__).with_name("_hammer.py")


@pytest.fixture
async def limiter(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> AsyncIterator[RedisRateLimiter]:
    rl = RedisRateLimiter(redis_url, prefix=redis_prefix, socket_timeout=10.0)
    yield rl
    await rl.aclose()


class CountingConnection(aioredis.Connection):
    """A real connection that counts the requests it writes to the socket."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        await super().send_packed_command(command, check_health)


@pytest.mark.anyio
async def test_a_concurrent_burst_admits_exactly_the_limit(
    limiter: RedisRateLimiter, sync_redis: redis.Redis, redis_prefix: str
) -> None:
    decisions = await asyncio.gather(
        *(limiter.hit("burst", limit=25, window_s=60) for _ in range(300))
    )
    admitted = [d for d in decisions if d.allowed]
    assert len(admitted) == 25
    assert sorted(d.remaining for d in admitted) == list(range(25))
    assert sync_redis.zcard(f"{redis_prefix}burst") == 25


def test_two_processes_sharing_a_key_admit_exactly_the_limit(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> None:
    args = [sys.executable, str(HAMMER), redis_url, redis_prefix, "shared", "40", "60", "250"]
    procs = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    counts = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        counts.append(int(out.strip()))
    assert sum(counts) == 40
    assert sync_redis.zcard(f"{redis_prefix}shared") == 40


@pytest.mark.anyio
async def test_refusal_says_how_long_to_wait_within_the_window(
    limiter: RedisRateLimiter,
) -> None:
    for _ in range(3):
        assert (await limiter.hit("k", limit=3, window_s=30)).allowed
    refused = await limiter.hit("k", limit=3, window_s=30)
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.limit == 3
    assert 0 < refused.retry_after_ms <= 30_000


@pytest.mark.anyio
async def test_the_window_slides_one_admission_at_a_time(limiter: RedisRateLimiter) -> None:
    assert (await limiter.hit("slide", limit=2, window_s=1.0)).allowed
    await asyncio.sleep(0.5)
    assert (await limiter.hit("slide", limit=2, window_s=1.0)).allowed
    refused = await limiter.hit("slide", limit=2, window_s=1.0)
    assert not refused.allowed
    assert refused.retry_after_ms <= 500  # the first admission leaves first
    await asyncio.sleep(refused.retry_after_ms / 1000 + 0.02)
    assert (await limiter.hit("slide", limit=2, window_s=1.0)).allowed
    assert not (await limiter.hit("slide", limit=2, window_s=1.0)).allowed  # second still in


@pytest.mark.anyio
async def test_peek_counts_nothing_and_sees_the_shared_window(
    limiter: RedisRateLimiter, sync_redis: redis.Redis, redis_prefix: str
) -> None:
    assert (await limiter.peek("authfail:ip", limit=2, window_s=60)).remaining == 2
    assert sync_redis.exists(f"{redis_prefix}authfail:ip") == 0  # a look stores nothing
    await limiter.hit("authfail:ip", limit=2, window_s=60)
    assert limiter.peek_sync("authfail:ip", limit=2, window_s=60).remaining == 1
    await limiter.hit("authfail:ip", limit=2, window_s=60)
    blocked = await limiter.peek("authfail:ip", limit=2, window_s=60)
    assert not blocked.allowed
    assert 0 < blocked.retry_after_ms <= 60_000
    assert sync_redis.zcard(f"{redis_prefix}authfail:ip") == 2


@pytest.mark.anyio
async def test_buckets_expire_with_their_window(
    limiter: RedisRateLimiter, sync_redis: redis.Redis, redis_prefix: str
) -> None:
    await limiter.hit("exp", limit=5, window_s=20)
    pttl = sync_redis.pttl(f"{redis_prefix}exp")
    assert 0 < pttl <= 20_000


@pytest.mark.anyio
async def test_each_hit_is_one_round_trip(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> None:
    pool = aioredis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    client = aioredis.Redis(connection_pool=pool)
    limiter = RedisRateLimiter(client, prefix=redis_prefix)
    await limiter.hit("warm", limit=100, window_s=60)  # connects (handshake) and loads
    before = CountingConnection.sent
    for i in range(50):
        await limiter.hit("rt", limit=10, window_s=60 + i % 2)  # admitted and refused alike
    assert CountingConnection.sent - before == 50
    await client.aclose()


@pytest.mark.anyio
async def test_script_flush_costs_one_extra_call_then_evalsha_again(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> None:
    pool = aioredis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    client = aioredis.Redis(connection_pool=pool)
    limiter = RedisRateLimiter(client, prefix=redis_prefix)
    assert (await limiter.hit("flush", limit=3, window_s=60)).allowed
    sync_redis.script_flush()
    before = CountingConnection.sent
    assert (await limiter.hit("flush", limit=3, window_s=60)).remaining == 1
    assert CountingConnection.sent - before == 2  # NOSCRIPT, then EVAL reloads it
    assert (await limiter.hit("flush", limit=3, window_s=60)).remaining == 0
    assert CountingConnection.sent - before == 3
    await client.aclose()


@pytest.mark.anyio
async def test_sync_and_async_hits_share_one_bucket(
    limiter: RedisRateLimiter, redis_url: str, redis_prefix: str
) -> None:
    assert (await limiter.hit("both", limit=3, window_s=60)).allowed
    assert limiter.hit_sync("both", limit=3, window_s=60).allowed
    with redis.Redis.from_url(redis_url) as client:
        own_sync = RedisRateLimiter(client, prefix=redis_prefix)
        assert own_sync.hit_sync("both", limit=3, window_s=60).remaining == 0
        assert not own_sync.hit_sync("both", limit=3, window_s=60).allowed
        own_sync.close()
        assert client.ping()  # a caller's client is never closed by the limiter


@pytest.mark.anyio
async def test_token_buckets_are_named_by_hash_never_by_token(
    limiter: RedisRateLimiter, sync_redis: redis.Redis, redis_prefix: str
) -> None:
    token = "sg_at_secret-value"
    bucket = hashlib.sha256(token.encode()).hexdigest()  # as the guard names it
    await limiter.hit(bucket, limit=60, window_s=60)
    keys = [k.decode() for k in sync_redis.scan_iter(match=f"{redis_prefix}*")]
    assert keys == [redis_prefix + bucket]


@pytest.mark.anyio
async def test_bad_arguments_raise_before_reaching_redis(
    limiter: RedisRateLimiter, sync_redis: redis.Redis, redis_prefix: str
) -> None:
    with pytest.raises(ValueError):
        await limiter.hit("k", limit=0, window_s=60)
    assert list(sync_redis.scan_iter(match=f"{redis_prefix}*")) == []
