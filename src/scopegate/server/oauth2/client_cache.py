"""A short-lived in-memory cache of client lookups for the token endpoint.

The token endpoint must not touch the database per request. A change made through
``server/admin`` anywhere (this replica, another one, the CLI with Redis configured)
drops the entry on every replica within a second (``shared/replicas.py``); ``ttl`` is the
back-stop when a notice is lost (no Redis, or Redis down).

A client id that is an https URL names a client ID metadata document: when the
registration module installed a :attr:`ClientCache.documents` resolver, it answers for
those ids (fetching, checking and caching the document itself).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from ...store.repositories import ClientRecord, ClientRepository

__all__ = ["ClientCache", "DocumentResolver"]

# Least recently used clients are dropped one at a time past this many: a server with
# 10,000 active machine clients keeps them all (about 1.8 KB each: ~90 MB when full).
MAX_ENTRIES = 50_000


class DocumentResolver(Protocol):
    """Finds the client a metadata document URL describes (see server/registration)."""

    def handles(self, client_id: str) -> bool:
        """Whether ``client_id`` is a document URL this resolver answers for."""
        ...

    async def get(self, client_id: str) -> ClientRecord | None:
        """The client; raises an ``OAuthError`` saying why a document is unusable."""
        ...


class ClientCache:
    """Client records by id, each kept for ``ttl`` seconds (misses too, briefly), at most
    ``max_entries`` of them (least recently used dropped first)."""

    def __init__(self, repo: ClientRepository, ttl: float,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.repo = repo
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, ClientRecord | None]] = OrderedDict()
        self.documents: DocumentResolver | None = None

    async def get(self, client_id: str) -> ClientRecord | None:
        """The client, from memory when fresh, else from the store (in a thread)."""
        if self.documents is not None and self.documents.handles(client_id):
            return await self.documents.get(client_id)
        now = time.monotonic()
        entry = self._entries.get(client_id)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(client_id)
            return entry[1]
        record = await run_in_threadpool(self.repo.get, client_id)
        self._entries[client_id] = (now + self.ttl, record)
        self._entries.move_to_end(client_id)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # not a clear(): the others stay warm
        return record

    def invalidate(self, client_id: str | None = None) -> None:
        """Forget one client (after a change in this process), or all of them."""
        if client_id is None:
            self._entries.clear()
        else:
            self._entries.pop(client_id, None)
