"""The limiter contract shared by every backend and every caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Decision", "RateLimiter"]


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


class RateLimiter(Protocol):
    """A sliding-window limiter: at most ``limit`` admissions per ``window_s`` per key."""

    async def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``key`` if the window has room; never raise on overload."""
        ...

    async def aclose(self) -> None:
        """Release connections (a no-op for the memory backend)."""
        ...
