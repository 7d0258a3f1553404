"""The in-process channel: every subscriber of this object hears every event at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ._channel import Listener
from ._model import CHANGED, Event

__all__ = ["InProcessChannel"]


class InProcessChannel:
    """Events for one process; revocations are replayed to late subscribers."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._active: dict[str, Event] = {}

    async def publish(self, event: Event) -> None:
        self.publish_sync(event)

    def publish_sync(self, event: Event) -> None:
        if event.kind != CHANGED:
            self._active[event.key] = event
        for deliver in list(self._listeners):
            deliver(event)

    def active(self) -> list[Event]:
        """Revocations published here that are still in force."""
        now = time.time()
        return [e for e in list(self._active.values()) if e.expires_at > now]

    async def listen(self, deliver: Listener, on_connected: Callable[[], Awaitable[None]]
                     ) -> None:
        now = time.time()
        for event in list(self._active.values()):
            if event.expires_at > now:
                deliver(event)
        self._listeners.append(deliver)
        try:
            await on_connected()
            await asyncio.Event().wait()  # until cancelled
        finally:
            self._listeners.remove(deliver)

    async def aclose(self) -> None:
        self._listeners.clear()
