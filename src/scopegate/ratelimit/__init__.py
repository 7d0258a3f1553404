"""Sliding-window rate limiting: in-process memory, or Redis shared by every replica.

Start with :func:`create_rate_limiter`. Name a token's bucket by a hash of the token (the
guard uses its sha256 hex, so a raw token never reaches Redis) and other limits with any
short bucket id, e.g. ``"authfail:<ip>"``, which the guard ``hit``s when verification fails.
The Redis backend is imported only when a URL (or :class:`RedisRateLimiter`) asks for it,
so the memory limiter works without redis installed.
"""

from typing import TYPE_CHECKING, Any

from ._base import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOW_S,
    Decision,
    DualRateLimiter,
    RateLimiter,
    RateLimiterUnavailable,
    SyncRateLimiter,
)
from ._bounds import DEFAULT_PREFIX, MAX_KEY_LENGTH, MAX_LIMIT, MAX_WINDOW_S, MIN_WINDOW_S
from .factory import create_rate_limiter
from .fallback import FALLBACK_TOTAL, UNAVAILABLE_POLICIES, FallbackRateLimiter, UnavailablePolicy
from .memory import MemoryRateLimiter

if TYPE_CHECKING:
    from .redis import SLIDING_WINDOW_LUA, RedisRateLimiter

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


_NEEDS_REDIS = ("RedisRateLimiter", "SLIDING_WINDOW_LUA")


def __getattr__(name: str) -> Any:
    """The Redis limiter loads on first use, so a memory-only install needs no redis."""
    if name in _NEEDS_REDIS:
        from . import redis as redis_backend

        return getattr(redis_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
