"""The token cache: memory first, then a persistent store (OS keyring, else a 0600 file).

Entries are keyed by issuer, client id, audience, subject and the scope-set hash
(:attr:`Token.cache_key`); a lookup returns a valid token whose granted scopes cover
the required ones. A cache hit touches memory only: no file or keyring read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from scopegate.scopes import Catalog, covers

from ._dpop import DPOP_KEY_ENTRY
from ._exceptions import TokenStoreError
from ._flow import Blocking, Flow
from ._stores import Document, MemoryTokenStore, TokenStore
from ._tokens import Token

__all__ = ["DEFAULT_EXPIRY_MARGIN", "TokenCache"]

log = logging.getLogger("scopegate.client")

DEFAULT_EXPIRY_MARGIN = 60.0


class TokenCache:
    """Tokens in memory, written through to a persistent store.

    :param store: the persistent store; None keeps tokens in memory only.
    :param margin: seconds before ``expires_at`` at which a token counts as expired.
    """

    def __init__(
        self,
        store: TokenStore | None = None,
        *,
        margin: float = DEFAULT_EXPIRY_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store: TokenStore = store if store is not None else MemoryTokenStore()
        self.margin = margin
        self.clock = clock
        self._memory: dict[tuple[str, str], dict[str, Token]] = {}
        self._guard = threading.Lock()
        self._merged: Document | None = None  # the store document last merged

    def find(
        self,
        issuer: str,
        client_id: str,
        required: frozenset[str],
        *,
        within: frozenset[str] | None = None,
        exclude: str | None = None,
        catalog: Catalog | None = None,
    ) -> Token | None:
        """Return a valid in-memory token whose scopes cover ``required`` (memory only).

        :param within: if given, skip tokens granted anything outside this set.
        :param exclude: an access token the server just rejected.
        :param catalog: the issuer's catalog (aliases, implication); None compares names.
        """
        bucket = self._memory.get((issuer, client_id))
        if not bucket:
            return None
        now = self.clock()
        best: Token | None = None
        for token in tuple(bucket.values()):
            if covers(token.scopes, required, catalog) and token.is_valid(now, self.margin):
                if token.access_token == exclude:
                    continue
                if within is not None and not covers(within, token.scopes, catalog):
                    continue
                if best is None or (token.expires_at or float("inf")) > (
                    best.expires_at or float("inf")
                ):
                    best = token
        return best

    def tokens(self, issuer: str, client_id: str) -> list[Token]:
        """Return every in-memory token of a client, valid or not, newest expiry first."""
        bucket = self._memory.get((issuer, client_id), {})
        return sorted(bucket.values(), key=lambda t: -(t.expires_at or float("inf")))

    def reload(self) -> None:
        """Merge the persistent entries into memory (a no-op read when nothing changed)."""
        doc = self.store.load()
        if doc is self._merged:
            return  # unchanged since the last merge: nothing to parse
        loaded: list[Token] = []
        for key, entry in doc.items():
            if key.startswith(DPOP_KEY_ENTRY):  # the DPoP key kept beside the tokens
                continue
            try:
                token = Token.from_dict(entry)
            except (ValueError, TypeError):
                log.warning("ignoring an unreadable token cache entry %r", key[:80])
                continue
            loaded.append(token)
        with self._guard:
            for token in loaded:
                bucket = self._memory.setdefault((token.issuer, token.client_id), {})
                bucket[token.cache_key] = token
            self._merged = doc

    def save(self, token: Token, *, replaces: Iterable[Token] = ()) -> None:
        """Store ``token`` durably, THEN evict the tokens it replaces.

        Both happen in one atomic write; if it fails, the old tokens stay on disk and
        in memory (nobody is logged out), the new one is kept in memory only, and
        :class:`TokenStoreError` is raised.
        """
        old = [t for t in replaces if t.cache_key != token.cache_key]
        old_keys = {t.cache_key for t in old}

        def change(doc: Document) -> None:
            doc[token.cache_key] = token.to_dict()
            for key in old_keys:
                doc.pop(key, None)

        self._put_memory(token)
        try:
            self.store.update(change)
        except TokenStoreError:
            raise
        except Exception as exc:
            raise TokenStoreError(f"could not save the new token: {exc}") from None
        with self._guard:
            bucket = self._memory.get((token.issuer, token.client_id), {})
            for key in old_keys:
                bucket.pop(key, None)

    def save_flow(self, token: Token, replaces: list[Token]) -> Flow[None]:
        """Save the new token before evicting the old; a failed save keeps the old one."""
        try:
            yield Blocking(lambda: self.save(token, replaces=replaces))
        except TokenStoreError as exc:
            # The new token still serves this process; the old one stays stored.
            kept = "; keeping the previous session on disk" if replaces else ""
            log.warning("%s; the new token was not saved and serves this process only%s",
                        exc, kept)

    def discard_flow(self, token: Token) -> Flow[None]:
        """Forget a dead session on disk too, so it is neither re-sent nor reported."""
        try:
            yield Blocking(lambda: self.discard(token))
        except TokenStoreError as exc:
            log.warning("%s; the expired session could not be removed", exc)

    def _put_memory(self, token: Token) -> None:
        with self._guard:
            bucket = self._memory.setdefault((token.issuer, token.client_id), {})
            bucket[token.cache_key] = token

    def forget_memory(self, token: Token) -> None:
        """Drop one token from memory only (e.g. the server rejected it)."""
        with self._guard:
            self._memory.get((token.issuer, token.client_id), {}).pop(token.cache_key, None)

    def discard(self, token: Token) -> None:
        """Drop one token from memory and the store (its refresh token is dead)."""
        self.forget_memory(token)

        def change(doc: Document) -> None:
            doc.pop(token.cache_key, None)

        self.store.update(change)

    def remove(self, issuer: str, client_id: str) -> int:
        """Remove every token of a client from memory and the store; return how many."""
        with self._guard:
            self._memory.pop((issuer, client_id), None)
        removed = 0

        def change(doc: Document) -> None:
            nonlocal removed
            for key, entry in list(doc.items()):
                if entry.get("issuer") == issuer and entry.get("client_id") == client_id:
                    del doc[key]
                    removed += 1

        self.store.update(change)
        return removed
