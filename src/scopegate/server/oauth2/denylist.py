"""Revoked JWT ids: the store's deny-list with an in-memory cache of known revocations."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from ...events import Channel, revoked
from ...store.repositories import RevocationRepository

__all__ = ["DenyList"]

log = logging.getLogger("scopegate.events")


class DenyList:
    """Answer "is this ``jti`` revoked?"; revocations are remembered until token expiry.

    Positive answers are cached in memory (they never change); a negative answer asks the
    store, so a revocation made by another replica is seen at once. Each revocation is
    also published on ``channel`` (when set), so every guard denies the token too.
    """

    def __init__(self, repo: RevocationRepository) -> None:
        self.repo = repo
        self.channel: Channel | None = None
        self._revoked: dict[str, float] = {}

    def warm(self) -> None:
        """Load current revocations (at startup)."""
        for jti, expires_at in self.repo.active().items():
            self._revoked[jti] = expires_at.timestamp()

    def forget_expired(self) -> int:
        """Drop in-memory revocations of tokens that have expired anyway; return how many."""
        now = datetime.now(UTC).timestamp()
        expired = [j for j, exp in self._revoked.items() if exp <= now]
        for jti in expired:
            del self._revoked[jti]
        return len(expired)

    def prune(self) -> int:
        """Forget revocations of tokens that have expired anyway (memory and store)."""
        self.forget_expired()
        return self.repo.prune()

    async def revoke(self, jti: str, exp: int) -> None:
        """Deny ``jti`` until ``exp`` (seconds since the epoch)."""
        expires_at = datetime.fromtimestamp(exp, UTC)
        await run_in_threadpool(self.repo.revoke, jti, expires_at)
        self._revoked[jti] = float(exp)
        if self.channel is not None:
            try:
                await self.channel.publish(revoked("jti", jti, exp))
            except ConnectionError as exc:  # stored: the poll feed and resyncs still have it
                log.warning("revocation of %s not pushed: %s", jti, exc)

    def remember(self, jti: str, exp: float) -> None:
        """Note a revocation another replica published."""
        self._revoked[jti] = exp

    async def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` has been revoked (by any process)."""
        if jti in self._revoked:
            return True
        if await run_in_threadpool(self.repo.is_revoked, jti):
            self._revoked[jti] = float("inf")
            return True
        return False
