"""The bounds every hit's arguments must respect, and wait rounding.

A *bucket* is one sliding window: the guard names a token's by the token's sha256 hex, and
other limits by a short id such as ``"authfail:<ip>"``.
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_KEY_LENGTH",
    "MAX_LIMIT",
    "MAX_WINDOW_S",
    "MIN_WINDOW_S",
    "check_hit",
    "retry_after_ms",
]

DEFAULT_PREFIX = "scopegate:rl:"
"""Prepended to every bucket id in Redis, so the limiter's keys are easy to find and purge."""

MAX_KEY_LENGTH = 512
"""Longest bucket id accepted; callers hash tokens (the guard: sha256 hex) so real ids are
short. (The name predates "bucket": a public constant keeps its name.)"""

MAX_LIMIT = 100_000
"""Largest window capacity: one stored entry per admission, so this bounds a bucket's memory."""

MIN_WINDOW_S = 0.001
"""Shortest window (1 ms): Redis expiries and retry hints are whole milliseconds."""

MAX_WINDOW_S = 86_400.0
"""Longest window (one day); longer ones belong to quotas, not rate limits."""


def check_hit(bucket_id: str, limit: int, window_s: float) -> None:
    """Refuse arguments no caller should send, before any state is touched.

    :raises ValueError: empty or oversized bucket id, limit outside 1..MAX_LIMIT, window outside
        [MIN_WINDOW_S, MAX_WINDOW_S].
    """
    if not bucket_id or len(bucket_id) > MAX_KEY_LENGTH:
        raise ValueError(f"a rate-limit bucket id must be 1..{MAX_KEY_LENGTH} characters")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"rate limit must be an integer in 1..{MAX_LIMIT}, got {limit!r}")
    if not MIN_WINDOW_S <= window_s <= MAX_WINDOW_S:
        raise ValueError(
            f"rate window must be in [{MIN_WINDOW_S}, {MAX_WINDOW_S}] seconds, got {window_s!r}"
        )


def retry_after_ms(seconds: float) -> int:
    """Round a wait up to whole milliseconds, never below 1 (a refusal always waits)."""
    return max(1, math.ceil(seconds * 1000.0 - 1e-6))
