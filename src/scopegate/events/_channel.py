"""The channel protocol both backends follow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ._model import Event

__all__ = ["Channel", "Listener"]

# Called with each event; ``resynced`` is True for events replayed after a (re)connect.
Listener = Callable[[Event], None]


class Channel(Protocol):
    """Publishes events and delivers them to every subscriber (other replicas included)."""

    async def publish(self, event: Event) -> None:
        """Tell every replica; a revocation is also kept until it expires."""
        ...

    def publish_sync(self, event: Event) -> None:
        """The same from blocking code (the CLI, admin functions run in a thread)."""
        ...

    async def listen(self, deliver: Listener, on_connected: Callable[[], Awaitable[None]]
                     ) -> None:
        """Deliver events until cancelled; replay active revocations on every (re)connect,
        then await ``on_connected``. Raises ``ConnectionError`` when the link drops."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
