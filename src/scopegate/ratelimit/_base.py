"""The limiter contract shared by every backend and every caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_WINDOW_S",
    "Decision",
    "DualRateLimiter",
    "RateLimiter",
    "RateLimiterUnavailable",
    "SyncRateLimiter",
]

DEFAULT_LIMIT = 60
"""Admissions per window when a route does not say otherwise (seed 003: 60 per minute)."""

DEFAULT_WINDOW_S = 60.0
"""Length of the sliding window, in seconds, when a route does not say otherwise."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit on a sliding window.

    :param allowed: whether this request is admitted (and was counted).
    :param limit: the window's capacity.
    :param remaining: admissions left in the current window after this hit.
    :param retry_after_ms: when refused, how long until one slot frees; 0 when allowed.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_ms: int = 0


class RateLimiterUnavailable(Exception):
    """A shared backend (Redis) could not decide: unreachable, timed out or erroring.

    Only a backend used on its own raises it; :class:`FallbackRateLimiter` turns it into
    its documented policy so that callers never see it.
    """


class RateLimiter(Protocol):
    """A sliding-window limiter: at most ``limit`` admissions per ``window_s`` per bucket."""

    async def hit(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``bucket_id`` if the window has room; never raise on overload."""
        ...

    async def aclose(self) -> None:
        """Release connections (a no-op for the memory backend)."""
        ...


class SyncRateLimiter(Protocol):
    """The same limiter for synchronous frameworks (Flask): one blocking call per request."""

    def hit_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``bucket_id`` if the window has room, blocking the thread."""
        ...

    def close(self) -> None:
        """Release synchronous connections (a no-op for the memory backend)."""
        ...


class DualRateLimiter(RateLimiter, SyncRateLimiter, Protocol):
    """A limiter usable from async (Starlette, FastAPI) and sync (Flask) code alike.

    It can also look at a window without counting (:meth:`peek`): the guard checks
    ``"authfail:<ip>"`` before verifying a token and hits it only when verification fails,
    so an address spraying random tokens is refused before any costly verification.
    """

    async def peek(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Say whether a hit would be admitted now, counting nothing.

        ``remaining`` is the number of slots free now (this look takes none).
        """
        ...

    def peek_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """The blocking twin of :meth:`peek`."""
        ...
