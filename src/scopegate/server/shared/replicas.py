"""One truth for many replicas: this server's end of ``scopegate.events``.

With ``SCOPEGATE_REDIS_URL`` set every replica (and every guard) shares one Redis event
channel; without it an in-process channel serves this process alone. The server

- publishes every revocation (RFC 7009, refresh-family reuse, API keys, clients, users):
  the deny-list publishes ``jti`` revocations, ``server/admin`` the rest (``admin/notify``);
- listens, and drops cached clients, client origins, resources and signing keys on a
  "changed" notice from any replica, so an admin change shows within a second and the
  cache TTLs are only a back-stop; after a (re)connect it drops them all (notices missed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from ...events import CHANGED, Event, Watcher
from ..admin.notify import attach, horizon_s

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["start_watching"]

log = logging.getLogger("scopegate.events")


class _CacheDropper:
    """Routes "changed" notices (and revocations) to the server's caches."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.loop = asyncio.get_running_loop()  # in-process notices may come from a thread
        self._key_reload: asyncio.Task[None] | None = None

    def on_event(self, event: Event) -> None:
        state = self.state
        if event.kind == "jti":
            state.denylist.remember(event.value, event.expires_at)
        if event.kind != CHANGED:
            return
        what = event.value
        if what.startswith("client:"):
            state.clients.invalidate(what.removeprefix("client:"))
            state.client_origins.snapshot.invalidate()
        elif what == "resources":
            state.resources.invalidate()
        elif what == "keys":
            self._reload_keys()
        elif what.startswith("audience:"):
            return  # for the resource's guards; servers cache no audience mode
        else:
            self.drop_all()

    def drop_all(self) -> None:
        self.state.clients.invalidate()
        self.state.client_origins.snapshot.invalidate()
        self.state.resources.invalidate()
        self._reload_keys()

    def _reload_keys(self) -> None:
        self.loop.call_soon_threadsafe(self._start_key_reload)

    def _start_key_reload(self) -> None:
        if self._key_reload is None or self._key_reload.done():
            self._key_reload = self.loop.create_task(
                run_in_threadpool(self.state.signing_keys.reload))


def start_watching(state: ServerState) -> Watcher:
    """Attach the channel to the store (admin changes publish) and start listening."""
    attach(state.db, state.events, horizon_s(state.settings))
    dropper = _CacheDropper(state)
    watcher = Watcher(state.events, revocations=state.revocations, on_event=dropper.on_event,
                      on_resync=dropper.drop_all)
    watcher.start()
    return watcher
