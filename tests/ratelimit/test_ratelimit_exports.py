"""Pin the public names of scopegate.ratelimit so a rename is a deliberate act."""

from __future__ import annotations

import scopegate.ratelimit as ratelimit


def test_public_api_is_exactly_this() -> None:
    assert sorted(ratelimit.__all__) == sorted([
        "DEFAULT_LIMIT",
        "DEFAULT_PREFIX",
        "DEFAULT_WINDOW_S",
        "FALLBACK_TOTAL",
        "MAX_KEY_LENGTH",
        "MAX_LIMIT",
        "MAX_WINDOW_S",
        "MIN_WINDOW_S",
        "SLIDING_WINDOW_LUA",
        "UNAVAILABLE_POLICIES",
        "Decision",
        "DualRateLimiter",
        "FallbackRateLimiter",
        "MemoryRateLimiter",
        "RateLimiter",
        "RateLimiterUnavailable",
        "RedisRateLimiter",
        "SyncRateLimiter",
        "UnavailablePolicy",
        "create_rate_limiter",
    ])
    for name in ratelimit.__all__:
        assert getattr(ratelimit, name) is not None
