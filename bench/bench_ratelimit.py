"""Benchmark the rate limiters: hits per second, and Redis round trips per hit.

Run ``python bench/bench_ratelimit.py [--redis-url URL] [--hits N] [--seconds S]``; each
case stops at N hits or S seconds, whichever comes first, and prints one line. Redis
cases are skipped (with a note) when the server is unreachable. ``main()`` returns the
figures so a driver script can collect them.

Async Redis hits share one auto-pipelined connection: the hits of concurrent tasks issued
in the same event-loop tick travel in one write. Round trips per hit are counted twice,
independently: by a connection class that counts its socket writes, and by the limiter's
own ``stats``; sequential hits take exactly one each, concurrent ones a fraction.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aioredis

from scopegate.ratelimit import (
    MemoryRateLimiter,
    RedisRateLimiter,
    create_rate_limiter,
)

__all__ = ["main", "run"]

WINDOW_S = 60.0
CONCURRENCY = 32


def bucket_key(token: str) -> str:
    """A token's bucket as the guard names it: the sha256 hex of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class _CountingConnection(aioredis.Connection):
    """A real connection that counts the requests it writes (client-side round trips)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        await super().send_packed_command(command, check_health)


def _bench_sync(
    hit: Callable[[str], object], keys: list[str], hits: int, seconds: float
) -> tuple[int, float]:
    """Hit keys round-robin; return (hits done, seconds taken)."""
    started = time.perf_counter()
    deadline = started + seconds
    done = 0
    while done < hits and (done % 256 or time.perf_counter() < deadline):
        hit(keys[done % len(keys)])
        done += 1
    return done, time.perf_counter() - started


async def _bench_async(
    hit: Callable[[str], Awaitable[object]],
    keys: list[str],
    hits: int,
    seconds: float,
    concurrency: int,
) -> tuple[int, float]:
    """Hit keys from ``concurrency`` tasks; return (hits done, seconds taken)."""
    started = time.perf_counter()
    deadline = started + seconds
    done = 0

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while done < hits and time.perf_counter() < deadline:
            await hit(keys[i % len(keys)])
            done += 1
            i += concurrency

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done, time.perf_counter() - started


def _evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in
               ("cmdstat_evalsha", "cmdstat_eval"))


async def _bench_redis(url: str, hits: int, seconds: float) -> dict[str, float]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    keys = [bucket_key(f"token-{i}") for i in range(1_000)]
    results: dict[str, float] = {}
    inspector = redis.Redis.from_url(url)
    pool = aioredis.ConnectionPool.from_url(url, connection_class=_CountingConnection)
    client = aioredis.Redis(connection_pool=pool)
    limiter = RedisRateLimiter(client, prefix=prefix)

    async def hit(key: str) -> object:
        return await limiter.hit(key, limit=60, window_s=WINDOW_S)

    try:
        await hit("warmup")  # connects first, so the handshake is not counted as a hit
        for label, concurrency in (("sequential", 1), (f"{CONCURRENCY} concurrent", CONCURRENCY)):
            sent_before, server_before = _CountingConnection.sent, _evalsha_calls(inspector)
            stats_before = limiter.stats
            done, took = await _bench_async(hit, keys, hits, seconds, concurrency)
            results[f"redis async {label} hits/s"] = done / took
            results[f"redis async {label} round trips/hit"] = (
                (_CountingConnection.sent - sent_before) / done
            )
            results[f"redis async {label} EVALSHA/hit (limiter stats)"] = (
                (limiter.stats.commands - stats_before.commands) / done
            )
            # Server-wide count: other clients of the same Redis would add to it.
            results[f"redis async {label} server EVALSHA/hit"] = (
                (_evalsha_calls(inspector) - server_before) / done
            )
        # What the guard gets: the URL-built client behind the fallback policy.
        guarded = create_rate_limiter(url, prefix=prefix)
        done, took = await _bench_async(
            lambda key: guarded.hit(key, limit=60, window_s=WINDOW_S), keys, hits, seconds, 1
        )
        results["create_rate_limiter(url) sequential hits/s"] = done / took
        done, took = await _bench_async(
            lambda key: guarded.hit(key, limit=60, window_s=WINDOW_S), keys, hits, seconds,
            CONCURRENCY,
        )
        results[f"create_rate_limiter(url) {CONCURRENCY} concurrent hits/s"] = done / took
        await guarded.aclose()
        sync_limiter = RedisRateLimiter(url, prefix=prefix)
        done, took = _bench_sync(
            lambda key: sync_limiter.hit_sync(key, limit=60, window_s=WINDOW_S),
            keys, hits, seconds,
        )
        results["redis sync hit_sync hits/s"] = done / took
        await sync_limiter.aclose()
    finally:
        stale = list(inspector.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(stale), 500):
            inspector.delete(*stale[start:start + 500])
        await client.aclose()
        inspector.close()
    return results


def run(redis_url: str | None, *, hits: int = 20_000, seconds: float = 3.0) -> dict[str, float]:
    """Measure every backend; the Redis ones only when ``redis_url`` is given and reachable."""
    results: dict[str, float] = {}
    one_key = ["token"]
    many_keys = [bucket_key(f"token-{i}") for i in range(10_000)]
    memory = MemoryRateLimiter()

    def memory_hit(key: str) -> object:
        return memory.hit_sync(key, limit=60, window_s=WINDOW_S)

    async def memory_ahit(key: str) -> object:
        return await memory.hit(key, limit=60, window_s=WINDOW_S)

    # One key: after 60 admissions every hit is a refusal (the attack path).
    done, took = _bench_sync(memory_hit, one_key, hits * 10, seconds)
    results["memory hit_sync one key hits/s"] = done / took
    # 10k keys round-robin: every hit is admitted (the normal path).
    done, took = _bench_sync(memory_hit, many_keys, hits * 10, seconds)
    results["memory hit_sync 10k keys hits/s"] = done / took
    done, took = asyncio.run(_bench_async(memory_ahit, many_keys, hits * 10, seconds, 1))
    results["memory async hit 10k keys hits/s"] = done / took
    if redis_url is not None:
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            print(f"redis: skipped ({exc})")
        else:
            results.update(asyncio.run(_bench_redis(redis_url, hits, seconds)))
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Parse arguments, run the benchmark, print one line per figure and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=os.environ.get(
        "SCOPEGATE_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-redis", action="store_true", help="memory backend only")
    parser.add_argument("--hits", type=int, default=20_000, help="most hits per case")
    parser.add_argument("--seconds", type=float, default=3.0, help="longest time per case")
    args = parser.parse_args(argv)
    results = run(None if args.no_redis else args.redis_url, hits=args.hits, seconds=args.seconds)
    width = max(len(name) for name in results)
    for name, value in results.items():
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.3f}"
        print(f"{name:<{width}}  {shown}")
    return results


if __name__ == "__main__":
    main()
