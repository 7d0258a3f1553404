"""Without Redis: the guard polls the server's revocation feed (``POST /oauth/revocations``).

Each successful poll replays every revocation in force (the watcher's deny-list merges
them); a failed poll raises ``ConnectionError`` so the watcher keeps what it knows, marks
itself stale and retries. Staleness is bounded by ``revocation_poll_s``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

import httpx

from scopegate.events import Event, Listener

__all__ = ["PollChannel"]

_EMPTY_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class PollChannel:
    """A listen-only channel fed by polling the revocation feed with client credentials."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str, *, client_id: str,
                 client_secret: str, interval_s: float) -> None:
        self.http = http
        self.endpoint = endpoint
        self.auth = (client_id, client_secret)
        self.interval_s = interval_s

    async def publish(self, event: Event) -> None:
        raise ConnectionError("a polled feed cannot publish")

    def publish_sync(self, event: Event) -> None:
        raise ConnectionError("a polled feed cannot publish")

    async def listen(self, deliver: Listener, on_connected: Callable[[], Awaitable[None]]
                     ) -> None:
        while True:
            for event in await self._poll():
                deliver(event)
            await on_connected()  # every successful poll is a complete sync
            await asyncio.sleep(self.interval_s)

    async def _poll(self) -> list[Event]:
        try:
            response = await self.http.post(self.endpoint, auth=self.auth, content=b"",
                                            headers=_EMPTY_FORM)
            response.raise_for_status()
            items = response.json()["revocations"]
            return [Event(str(i["kind"]), str(i["value"]),
                          math.inf if i.get("not_before") is None else float(i["not_before"]),
                          float(i["expires_at"])) for i in items]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ConnectionError(f"revocation feed {self.endpoint}: {exc!r}") from exc

    async def aclose(self) -> None:
        """The HTTP client belongs to the authenticator."""
