"""Exact sliding-window limiter kept in this process's memory.

Each bucket keeps the times of its admitted requests in a deque, oldest first. A hit drops
the times that have left the window, admits when fewer than ``limit`` remain, and
otherwise answers how long until the oldest blocking entry leaves. Only admissions are
stored, so one bucket never holds more than ``limit`` entries.

Memory stays bounded however many buckets arrive: buckets live in a least-recently-used map,
every new bucket first sweeps a few idle buckets (whose newest entry has left its window) off
the cold end, and at ``max_keys`` the coldest bucket is dropped even if still live. A spray
of fresh bucket ids can therefore only evict, never grow memory; the guard's per-IP limit on
failed authentications (just another bucket, ``"authfail:<ip>"``) stops such a spray early.

:meth:`MemoryRateLimiter.peek` answers the same question without counting (and never
creates a bucket). The decision holds no ``await``, so it is atomic on an event loop; a lock
makes the same instance safe from Flask's threads (:meth:`MemoryRateLimiter.hit_sync`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from ._base import Decision
from ._bounds import check_hit, retry_after_ms

__all__ = ["MemoryRateLimiter"]

# Idle buckets swept off the cold end per new bucket: more than one, so idle ones leave at
# least as fast as new ones arrive, yet a hit never does unbounded work.
_SWEEP_PER_INSERT = 2


class _Bucket:
    """One bucket's admitted request times and the window they were admitted under."""

    __slots__ = ("times", "window_s")

    def __init__(self, window_s: float) -> None:
        self.times: deque[float] = deque()
        self.window_s = window_s

    def idle(self, now: float) -> bool:
        return not self.times or self.times[-1] <= now - self.window_s


class MemoryRateLimiter:
    """An exact sliding-window limiter for one process, bounded to ``max_keys`` buckets.

    :param max_keys: most buckets tracked at once; the least recently used is dropped beyond.
    :param clock: monotonic seconds; inject a fake one in tests.
    """

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of buckets currently tracked."""
        return len(self._buckets)

    async def hit(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``bucket_id`` if its window has room (never blocks the loop)."""
        return self._decide(bucket_id, limit, window_s, count=True)

    def hit_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``bucket_id`` if its window has room; safe from any thread."""
        return self._decide(bucket_id, limit, window_s, count=True)

    async def peek(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Say whether a hit on ``bucket_id`` would be admitted now, counting nothing."""
        return self._decide(bucket_id, limit, window_s, count=False)

    def peek_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Say whether a hit on ``bucket_id`` would be admitted now, counting nothing."""
        return self._decide(bucket_id, limit, window_s, count=False)

    def _decide(self, bucket_id: str, limit: int, window_s: float, *, count: bool) -> Decision:
        check_hit(bucket_id, limit, window_s)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(bucket_id)
            if bucket is None:
                if not count:  # a look never creates state
                    return Decision(allowed=True, limit=limit, remaining=limit)
                self._make_room(now)
                bucket = self._buckets[bucket_id] = _Bucket(window_s)
            else:
                self._buckets.move_to_end(bucket_id)
                bucket.window_s = window_s
            times = bucket.times
            horizon = now - window_s
            while times and times[0] <= horizon:
                times.popleft()
            inside = len(times)
            if inside < limit:
                if not count:
                    return Decision(allowed=True, limit=limit, remaining=limit - inside)
                times.append(now)
                return Decision(allowed=True, limit=limit, remaining=limit - inside - 1)
            # The entry whose departure brings the count down to limit - 1.
            blocking = times[inside - limit]
            return Decision(
                allowed=False,
                limit=limit,
                remaining=0,
                retry_after_ms=retry_after_ms(blocking + window_s - now),
            )

    def _make_room(self, now: float) -> None:
        buckets = self._buckets
        for _ in range(_SWEEP_PER_INSERT):
            if not buckets:
                return
            coldest = next(iter(buckets.values()))
            if not coldest.idle(now):
                break
            buckets.popitem(last=False)
        while len(buckets) >= self._max_keys:
            buckets.popitem(last=False)

    async def aclose(self) -> None:
        """Nothing to release: the state is this object's memory."""

    def close(self) -> None:
        """Nothing to release: the state is this object's memory."""
