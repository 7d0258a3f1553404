"""Revocation at the guard: the deny-list check on a cache hit, and propagation via Redis.

Rows:
- ``check empty`` / ``check 10000``: µs per :meth:`Revocations.denies` of a token with five
  deny-list keys (jti, client, sub, key, sid) when nothing is revoked and when 10,000
  revocations are known and none matches (the cost added to every guard cache hit);
- ``propagation p50 / p99``: ms from a server publishing a revocation on Redis to a
  subscribed watcher recording it (``--n`` revocations, one every ``--gap`` ms).

Run: ``python bench/bench_revocation.py`` (or ``python bench/run.py revocation``); needs
Redis at ``SCOPEGATE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) for the
propagation rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

from scopegate.events import RedisChannel, Revocations, Watcher, revoked

KEYS = ("client:svc", "sub:usr_1", "jti:abc", "key:k1", "sid:s1")


def check_us(revocations: Revocations, n: int = 200_000) -> float:
    denies, keys = revocations.denies, KEYS
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            denies(keys, 1.0)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


async def propagation_ms(url: str, n: int, gap_s: float) -> list[float]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    delays: list[float] = []
    watcher = Watcher(RedisChannel(url, prefix=prefix), on_delay=delays.append)
    publisher = RedisChannel(url, prefix=prefix)
    watcher.start()
    await asyncio.wait_for(watcher.connected_event.wait(), 5)
    for i in range(n):
        await publisher.publish(revoked("jti", f"j{i}", time.time() + 60))
        await asyncio.sleep(gap_s)
    await asyncio.sleep(0.2)
    await watcher.stop()
    await publisher.aclose()
    return [d * 1000 for d in delays]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--gap", type=float, default=2.0, help="ms between revocations")
    args = parser.parse_args()
    full = Revocations()
    for i in range(10_000):
        full.add(revoked("jti", f"other{i}", time.time() + 3600))
    print(f"check empty   {check_us(Revocations()):.3f} µs")
    print(f"check 10000   {check_us(full):.3f} µs")
    url = os.environ.get("SCOPEGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    delays = asyncio.run(propagation_ms(url, args.n, args.gap / 1000))
    cuts = statistics.quantiles(delays, n=100)
    print(f"propagation   n={len(delays)} p50 {cuts[49]:.2f} ms p99 {cuts[98]:.2f} ms")


if __name__ == "__main__":
    main()
