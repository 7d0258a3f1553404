"""Build the limiter a deployment asks for: memory alone, or Redis with a failure policy."""

from __future__ import annotations

from ._base import DualRateLimiter
from ._bounds import DEFAULT_PREFIX
from .fallback import UNAVAILABLE_POLICIES, FallbackRateLimiter, UnavailablePolicy
from .memory import MemoryRateLimiter

__all__ = ["create_rate_limiter"]


def create_rate_limiter(
    redis_url: str | None,
    *,
    prefix: str = DEFAULT_PREFIX,
    on_unavailable: UnavailablePolicy = "fallback",
    socket_timeout: float = 0.25,
    max_keys: int = 100_000,
) -> DualRateLimiter:
    """Return a limiter: in-process memory without a URL, else Redis behind the given policy.

    :param redis_url: ``redis://`` URL shared by every replica, or None for one process.
    :param prefix: prepended to every Redis key.
    :param on_unavailable: what a hit does while Redis cannot answer: ``"fallback"``
        (a local memory limiter; default), ``"allow"`` or ``"deny"``.
    :param socket_timeout: seconds to wait on Redis before applying the policy.
    :param max_keys: most buckets the memory limiter (or the fallback) tracks at once.
    :raises ValueError: unknown policy or malformed URL.
    :raises ImportError: a URL is given but redis is not installed (``scopegate[redis]``).
    """
    if on_unavailable not in UNAVAILABLE_POLICIES:
        raise ValueError(
            f"on_unavailable must be one of {sorted(UNAVAILABLE_POLICIES)}, got {on_unavailable!r}"
        )
    if redis_url is None:
        return MemoryRateLimiter(max_keys=max_keys)
    from .redis import RedisRateLimiter  # only now: a memory-only install has no redis

    return FallbackRateLimiter(
        RedisRateLimiter(redis_url, prefix=prefix, socket_timeout=socket_timeout),
        MemoryRateLimiter(max_keys=max_keys),
        on_unavailable=on_unavailable,
    )
