"""The auth-context cache: a bounded LRU keyed by sha256(token), entries never outlive ``exp``."""

from __future__ import annotations

import time
from collections import OrderedDict

from .context import AuthContext

__all__ = ["AuthCache"]


class AuthCache:
    """A bounded LRU of :class:`AuthContext` keyed by token hash.

    A lookup is one dict access plus a clock read; expired entries are dropped on sight.
    """

    __slots__ = ("_entries", "max_entries")

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[str, AuthContext] = OrderedDict()

    def get(self, token_hash: str) -> AuthContext | None:
        """Return the live entry for a token hash, or None."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry.cached_until <= time.time():
            del self._entries[token_hash]
            return None
        self._entries.move_to_end(token_hash)
        return entry

    def put(self, entry: AuthContext) -> None:
        """Store an entry, evicting the least recently used one when full."""
        if entry.cached_until <= time.time():
            return
        self._entries[entry.token_hash] = entry
        self._entries.move_to_end(entry.token_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, token_hash: str) -> None:
        """Forget one token (e.g. after a revocation notice)."""
        self._entries.pop(token_hash, None)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
