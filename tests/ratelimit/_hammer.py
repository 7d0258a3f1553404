"""One OS process hammering a shared Redis bucket; prints how many hits it was admitted.

Usage: python _hammer.py URL PREFIX KEY LIMIT WINDOW_S HITS. It prints "ready" once
connected, waits for a line on stdin (so several processes start together), fires HITS
concurrent hits and prints the number admitted.
"""

from __future__ import annotations

import asyncio
import sys

from scopegate.ratelimit import RedisRateLimiter


async def main(url: str, prefix: str, key: str, limit: int, window_s: float, hits: int) -> int:
    limiter = RedisRateLimiter(url, prefix=prefix, socket_timeout=10.0)
    await limiter.hit(f"{key}:warmup", limit=1, window_s=window_s)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    decisions = await asyncio.gather(
        *(limiter.hit(key, limit=limit, window_s=window_s) for _ in range(hits))
    )
    await limiter.aclose()
    return sum(d.allowed for d in decisions)


if __name__ == "__main__":
    url, prefix, key, limit, window_s, hits = sys.argv[1:7]
    print(asyncio.run(main(url, prefix, key, int(limit), float(window_s), int(hits))), flush=True)
