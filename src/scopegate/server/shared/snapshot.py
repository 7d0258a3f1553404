"""A value read from the store in a worker thread and reused for a few seconds.

For small tables a hot endpoint consults whole (registered resources, client origins):
no database read per request, a change made elsewhere (the CLI) seen after ``ttl``. Only
one coroutine reads at a time; the others wait for its answer instead of each reading.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

__all__ = ["Snapshot"]

T = TypeVar("T")


class Snapshot(Generic[T]):
    """``load()`` once per ``ttl`` seconds (blocking, so in a thread).

    :param load: reads the store and builds the value.
    :param ttl: seconds the value is reused.
    :param empty: the value before the first read.
    """

    def __init__(self, load: Callable[[], T], ttl: float, empty: T) -> None:
        self.load = load
        self.ttl = ttl
        self._value = empty
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        """The value, read again first if it is older than ``ttl``."""
        if time.monotonic() < self._fresh_until:
            return self._value
        async with self._lock:
            now = time.monotonic()
            if now >= self._fresh_until:  # nobody refreshed it while we waited
                self._value = await run_in_threadpool(self.load)
                self._fresh_until = now + self.ttl
        return self._value

    def invalidate(self) -> None:
        """Read again at the next :meth:`get` (after a change made in this process)."""
        self._fresh_until = 0.0
