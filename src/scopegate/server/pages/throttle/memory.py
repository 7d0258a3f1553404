"""Failure counters in this process's memory: one server process, or Redis's fallback."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ._base import Counter, Ticket, refused

__all__ = ["MemoryFailureStore"]


@dataclass(slots=True)
class _Entry:
    failures: int = 0
    locked_until: int = 0  # ms on the store's clock; 0: no wait
    expires: int = 0


class MemoryFailureStore:
    """Counters in an LRU dict of at most ``max_keys`` entries (the oldest go first).

    :param clock: milliseconds, monotonic; tests may inject one.
    """

    def __init__(self, *, max_keys: int = 100_000,
                 clock: Callable[[], int] = lambda: time.monotonic_ns() // 1_000_000) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    async def reserve(self, counters: Sequence[Counter]) -> Ticket:
        """Count one attempt on every counter, or on none if any of them is waiting."""
        with self._lock:
            now = self._clock()
            found = [self._live(key, now) for key, _ in counters]
            wait = max((e.locked_until - now for e in found if e is not None), default=0)
            if wait > 0:
                return refused(wait)
            locks = []
            for (key, backoff), entry in zip(counters, found, strict=True):
                if entry is None:
                    entry = self._insert(key)
                entry.failures += 1
                wait_ms = backoff.wait_ms(entry.failures)
                entry.locked_until = now + wait_ms if wait_ms else 0
                entry.expires = now + max(backoff.reset_ms, wait_ms)
                locks.append(entry.locked_until)
            return Ticket(admitted=True, keys=tuple(k for k, _ in counters), locks=tuple(locks))

    async def release(self, ticket: Ticket, *, forget: Collection[str] = ()) -> None:
        """Un-count an admitted attempt that did not fail; drop the counters in ``forget``."""
        with self._lock:
            for key, lock in zip(ticket.keys, ticket.locks, strict=True):
                if key in forget:
                    self._entries.pop(key, None)
                    continue
                entry = self._entries.get(key)
                if entry is None:
                    continue
                entry.failures = max(0, entry.failures - 1)
                if lock and entry.locked_until == lock:
                    entry.locked_until = 0

    async def aclose(self) -> None:
        """Nothing to release."""

    def _live(self, key: str, now: int) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires <= now:
            del self._entries[key]
            return None
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def _insert(self, key: str) -> _Entry:
        while len(self._entries) >= self._max_keys:
            self._entries.popitem(last=False)
        entry = self._entries[key] = _Entry()
        return entry
