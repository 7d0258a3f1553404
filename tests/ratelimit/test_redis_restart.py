"""Redis restarted under running replicas: they reconnect at once, the shared limit holds.

Each test starts its own throw-away ``redis-server`` (no persistence) on a free port and
kills and restarts it there; the shared Redis is never touched.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from scopegate.ratelimit import DualRateLimiter, create_rate_limiter

pytestmark = pytest.mark.redis

LIMIT = 60
BURST = 100


class OwnRedis:
    """A ``redis-server`` of this test alone, on a fixed port, that can be killed and restarted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = OwnRedis(port)
    server.start()
    yield server
    server.kill()


async def burst(replicas: list[DualRateLimiter], key: str) -> int:
    """Hit ``key`` BURST times at once, spread over the replicas; how many were admitted."""
    decisions = await asyncio.gather(*(
        replicas[i % len(replicas)].hit(key, limit=LIMIT, window_s=60) for i in range(BURST)))
    return sum(d.allowed for d in decisions)


def test_after_a_restart_two_replicas_still_share_one_limit(
        own_redis: OwnRedis, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, int]:
        replicas = [create_rate_limiter(own_redis.url, prefix="restart:") for _ in range(2)]
        try:
            before = await burst(replicas, "before")  # each replica now holds a connection
            await asyncio.to_thread(own_redis.restart)
            return before, await burst(replicas, "after")
        finally:
            for limiter in replicas:
                await limiter.aclose()

    with caplog.at_level(logging.WARNING, logger="scopegate.ratelimit"):
        before, after = asyncio.run(scenario())
    assert (before, after) == (LIMIT, LIMIT)
    assert not [r for r in caplog.records if "unavailable" in r.getMessage()]


def test_sync_hits_reconnect_after_a_restart_too(own_redis: OwnRedis) -> None:
    replicas = [create_rate_limiter(own_redis.url, prefix="restart-sync:") for _ in range(2)]
    try:
        assert replicas[0].hit_sync("warm", limit=LIMIT, window_s=60).allowed
        assert replicas[1].hit_sync("warm", limit=LIMIT, window_s=60).allowed
        own_redis.restart()
        admitted = sum(replicas[i % 2].hit_sync("after", limit=LIMIT, window_s=60).allowed
                       for i in range(BURST))
    finally:
        for limiter in replicas:
            limiter.close()
    assert admitted == LIMIT


def test_while_redis_is_really_down_each_replica_falls_back_then_shares_again(
        own_redis: OwnRedis) -> None:
    async def scenario() -> tuple[int, int]:
        replicas = [create_rate_limiter(own_redis.url, prefix="down:") for _ in range(2)]
        try:
            await burst(replicas, "warm")
            await asyncio.to_thread(own_redis.kill)
            # Down: each replica limits on its own (the documented fallback policy).
            down = await burst(replicas, "down")
            await asyncio.to_thread(own_redis.start)
            await asyncio.sleep(1.1)  # past the fallback's probe interval
            return down, await burst(replicas, "up")
        finally:
            for limiter in replicas:
                await limiter.aclose()

    down, up = asyncio.run(scenario())
    assert down == BURST  # 50 per replica, each under its own local limit of 60
    assert up == LIMIT
