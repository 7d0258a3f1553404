"""Redis unavailable: the documented policy applies, counted and logged, never raised."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from scopegate.ratelimit import (
    Decision,
    FallbackRateLimiter,
    MemoryRateLimiter,
    RateLimiterUnavailable,
    RedisRateLimiter,
    create_rate_limiter,
)

LOGGER = "scopegate.ratelimit.fallback"


@pytest.fixture
def dead_redis_url() -> Iterator[str]:
    """A redis:// URL on a 127.0.0.1 port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"


def fallback_count(policy: str) -> float:
    value = REGISTRY.get_sample_value("scopegate_ratelimit_fallback_total", {"policy": policy})
    return value or 0.0


@pytest.mark.anyio
async def test_redis_alone_reports_unavailability(dead_redis_url: str) -> None:
    limiter = RedisRateLimiter(dead_redis_url)
    with pytest.raises(RateLimiterUnavailable):
        await limiter.hit("k", limit=1, window_s=1)
    with pytest.raises(RateLimiterUnavailable):
        limiter.hit_sync("k", limit=1, window_s=1)
    await limiter.aclose()


@pytest.mark.anyio
async def test_default_policy_limits_locally_counts_and_warns_once(
    dead_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = create_rate_limiter(dead_redis_url)
    before = fallback_count("fallback")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        answers = [await limiter.hit("tok", limit=3, window_s=60) for _ in range(5)]
    assert [a.allowed for a in answers] == [True, True, True, False, False]
    assert 0 < answers[-1].retry_after_ms <= 60_000
    assert not (await limiter.peek("tok", limit=3, window_s=60)).allowed
    assert fallback_count("fallback") - before == 6
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1
    assert "on_unavailable='fallback'" in warnings[0].getMessage()
    await limiter.aclose()


def test_default_policy_also_covers_sync_hits(dead_redis_url: str) -> None:
    limiter = create_rate_limiter(dead_redis_url)
    before = fallback_count("fallback")
    answers = [limiter.hit_sync("tok", limit=2, window_s=60).allowed for _ in range(3)]
    assert answers == [True, True, False]
    assert not limiter.peek_sync("tok", limit=2, window_s=60).allowed
    assert fallback_count("fallback") - before == 4
    limiter.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("allow", Decision(allowed=True, limit=1, remaining=0)),
        ("deny", Decision(allowed=False, limit=1, remaining=0, retry_after_ms=1000)),
    ],
)
async def test_allow_and_deny_policies(
    dead_redis_url: str, policy: str, expected: Decision
) -> None:
    limiter = create_rate_limiter(dead_redis_url, on_unavailable=policy)  # type: ignore[arg-type]
    before = fallback_count(policy)
    assert [await limiter.hit("tok", limit=1, window_s=60) for _ in range(3)] == [expected] * 3
    assert fallback_count(policy) - before == 3
    await limiter.aclose()


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="on_unavailable"):
        create_rate_limiter("redis://127.0.0.1:6379/0", on_unavailable="open")  # type: ignore[arg-type]


def test_no_url_means_memory() -> None:
    assert isinstance(create_rate_limiter(None), MemoryRateLimiter)


class FlakyLimiter(MemoryRateLimiter):
    """A stand-in shared limiter that is down while ``down`` is set, counting attempts."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.attempts = 0

    def hit_sync(self, key: str, *, limit: int, window_s: float) -> Decision:
        self.attempts += 1
        if self.down:
            raise RateLimiterUnavailable("connection refused")
        return super().hit_sync(key, limit=limit, window_s=window_s)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_primary_is_probed_once_per_interval_and_recovery_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, clock = FlakyLimiter(), Clock()
    limiter = FallbackRateLimiter(primary, probe_interval_s=1.0, log_interval_s=60, clock=clock)
    primary.down = True
    with caplog.at_level(logging.INFO, logger=LOGGER):
        for _ in range(10):
            limiter.hit_sync("k", limit=100, window_s=60)
        assert primary.attempts == 1  # later hits skip the dead primary
        assert limiter.degraded

        clock.now = 1.0
        limiter.hit_sync("k", limit=100, window_s=60)
        assert primary.attempts == 2  # probed again, still down: no second warning yet

        primary.down = False
        clock.now = 2.0
        assert limiter.hit_sync("k", limit=100, window_s=60).allowed
        assert not limiter.degraded
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]
    assert [level for level, _ in messages] == [logging.WARNING, logging.INFO]
    assert "after 11 hits" in messages[1][1]


def test_building_many_limiters_registers_the_metric_once() -> None:
    before = fallback_count("deny")
    limiters = [FallbackRateLimiter(FlakyLimiter(), on_unavailable="deny") for _ in range(3)]
    for limiter in limiters:
        assert limiter.hit_sync("k", limit=1, window_s=1).allowed  # primary up
    assert fallback_count("deny") == before  # only hits decided without Redis count
