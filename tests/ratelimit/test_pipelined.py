"""The shared, auto-pipelined Redis connection behind async hits, against the real server."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from scopegate.ratelimit import RateLimiterUnavailable, RedisRateLimiter
from scopegate.ratelimit._pipelined import PipelinedConnection


@pytest.fixture
async def pipe(redis_url: str) -> AsyncIterator[PipelinedConnection]:
    pool = aioredis.ConnectionPool.from_url(redis_url, socket_timeout=10.0)
    connection = PipelinedConnection(pool.get_connection, pool.release, timeout=10.0)
    yield connection
    await connection.aclose()
    await pool.disconnect()


@pytest.mark.anyio
async def test_a_burst_travels_in_one_round_trip_and_each_hit_gets_its_own_answer(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=redis_prefix, socket_timeout=10.0)
    await limiter.hit("warm", limit=1, window_s=60)
    before = limiter.stats
    decisions = await asyncio.gather(
        *(limiter.hit("burst", limit=50, window_s=60) for _ in range(200))
    )
    after = limiter.stats
    await limiter.aclose()
    admitted = [d for d in decisions if d.allowed]
    assert sorted(d.remaining for d in admitted) == list(range(50))  # exact, no duplicate
    assert sync_redis.zcard(f"{redis_prefix}burst") == 50
    assert after.commands - before.commands == 200
    assert after.round_trips - before.round_trips == 1


@pytest.mark.anyio
async def test_an_error_reply_fails_only_its_own_command(pipe: PipelinedConnection) -> None:
    results = await asyncio.gather(
        pipe.execute("ECHO", "first"),
        pipe.execute("EVALSHA", "0" * 40, 0),
        pipe.execute("ECHO", "third"),
        return_exceptions=True,
    )
    assert results[0] == b"first"
    assert isinstance(results[1], NoScriptError)
    assert results[2] == b"third"
    assert pipe.stats.round_trips == 1


@pytest.mark.anyio
async def test_a_dropped_connection_fails_what_is_in_flight_then_reconnects(
    pipe: PipelinedConnection, sync_redis: redis.Redis, redis_prefix: str
) -> None:
    client_id = await pipe.execute("CLIENT", "ID")
    blocked = asyncio.ensure_future(pipe.execute("BLPOP", f"{redis_prefix}never", 5))
    for _ in range(500):  # until Redis shows our connection blocked in BLPOP
        if any(c["id"] == str(client_id) and c["cmd"] == "blpop"
               for c in sync_redis.client_list()):
            break
        await asyncio.sleep(0.01)
    sync_redis.client_kill_filter(_id=client_id)
    with pytest.raises(RedisConnectionError):
        await blocked
    assert await pipe.execute("ECHO", "again") == b"again"  # a fresh connection


@pytest.mark.anyio
async def test_a_hit_cancelled_before_sending_is_never_counted(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=redis_prefix, socket_timeout=10.0)
    cancelled = asyncio.ensure_future(limiter.hit("c", limit=5, window_s=60))
    await asyncio.sleep(0)  # the hit is queued, not yet written
    cancelled.cancel()
    kept = await limiter.hit("c", limit=5, window_s=60)
    await limiter.aclose()
    assert cancelled.cancelled()
    assert kept.remaining == 4
    assert sync_redis.zcard(f"{redis_prefix}c") == 1


def test_one_limiter_can_serve_successive_event_loops(
    redis_url: str, redis_prefix: str, sync_redis: redis.Redis
) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=redis_prefix, socket_timeout=10.0)

    async def hit() -> int:
        return (await limiter.hit("loops", limit=5, window_s=60)).remaining

    assert asyncio.run(hit()) == 4
    assert asyncio.run(hit()) == 3


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A redis:// URL whose server accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.anyio
async def test_a_server_that_never_answers_is_unavailable_not_a_hang(silent_server: str) -> None:
    limiter = RedisRateLimiter(silent_server, socket_timeout=0.2)
    results = await asyncio.gather(
        *(limiter.hit("k", limit=5, window_s=60) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RateLimiterUnavailable) for r in results)
    await limiter.aclose()
