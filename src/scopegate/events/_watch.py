"""Keeps a replica's :class:`Revocations` in step with a channel, through outages.

The watcher reconnects forever with a short back-off; on a disconnect it keeps what it
knows (a revoked token stays revoked) and, after one second without a link, says once that
it is stale; on reconnect the channel replays active revocations and the watcher calls
``on_resync`` so caches drop whatever changed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ._channel import Channel
from ._model import CHANGED, Event, Revocations

__all__ = ["Watcher"]

log = logging.getLogger("scopegate.events")

_RETRY_S = (0.1, 0.25, 0.5, 1.0)
_PRUNE_EVERY_S = 60.0


class Watcher:
    """Feeds ``revocations`` and calls ``on_event`` for every event (live or replayed).

    :param channel: where events come from.
    :param on_event: called after a revocation is recorded, and for every change notice.
    :param on_resync: called after each (re)connect: drop every cache (changes were missed).
    :param on_delay: called with each live event's propagation delay in seconds.
    """

    def __init__(self, channel: Channel, *, revocations: Revocations | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_resync: Callable[[], None] | None = None,
                 on_delay: Callable[[float], None] | None = None) -> None:
        self.channel = channel
        self.revocations = revocations if revocations is not None else Revocations()
        self.on_event = on_event
        self.on_resync = on_resync
        self.on_delay = on_delay
        self.connected = False
        self.last_sync = 0.0  # when the link was last known good (time.time())
        self._stale_logged = False
        self._task: asyncio.Task[None] | None = None
        self._pruned = time.monotonic()
        self._stopping = False
        self.connected_event = asyncio.Event()

    def staleness_s(self) -> float:
        """Seconds since the revocation data was last known complete (0 while connected)."""
        if self.connected:
            return 0.0
        return time.time() - self.last_sync if self.last_sync else float("inf")

    def start(self) -> None:
        """Start watching in the running event loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # A client library may turn the cancellation into a connection error: the
            # loop then ends on ``_stopping``; never wait long for it.
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(task, 2.0)

    def deliver(self, event: Event) -> None:
        """Record one event (the channel calls this); only live events count a delay."""
        if event.kind != CHANGED:
            self.revocations.add(event)
        if self.connected and event.sent_at and self.on_delay is not None:
            self.on_delay(max(0.0, time.time() - event.sent_at))
        if self.on_event is not None:
            self.on_event(event)
        if time.monotonic() - self._pruned > _PRUNE_EVERY_S:
            self._pruned = time.monotonic()
            self.revocations.forget_expired()

    async def _connected(self) -> None:
        self.connected = True
        self.last_sync = time.time()
        self.connected_event.set()
        if self._stale_logged:
            log.warning("revocation events back: deny-list resynced")
            self._stale_logged = False
        if self.on_resync is not None:
            self.on_resync()

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                await self.channel.listen(self.deliver, self._connected)
            except ConnectionError as exc:
                if self.connected:
                    self.last_sync = time.time()
                self.connected = False
                self.connected_event.clear()
                if not self._stale_logged:
                    log.warning("revocation events unavailable, keeping the %d known "
                                "revocations: %s", len(self.revocations), exc)
                    self._stale_logged = True
            else:
                return
            await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
            attempt = 0 if self.connected else attempt + 1
