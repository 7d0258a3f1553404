"""Sliding-window rate limiting: in-process memory, or Redis shared by every replica.

Start with :func:`create_rate_limiter`; name a token's bucket by a hash of the token (the
guard uses its sha256 hex, so a raw token never reaches Redis) and other limits with any
short key, e.g. ``"authfail:<ip>"``, which the guard ``hit``s when verification fails.
"""

from ._base import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOW_S,
    Decision,
    DualRateLimiter,
    RateLimiter,
    RateLimiterUnavailable,
    SyncRateLimiter,
)
from ._keys import MAX_KEY_LENGTH, MAX_LIMIT, MAX_WINDOW_S, MIN_WINDOW_S
from .factory import create_rate_limiter
from .fallback import FALLBACK_TOTAL, UNAVAILABLE_POLICIES, FallbackRateLimiter, UnavailablePolicy
from .memory import MemoryRateLimiter
from .redis import DEFAULT_PREFIX, SLIDING_WINDOW_LUA, RedisRateLimiter

__all__ = [
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
]
