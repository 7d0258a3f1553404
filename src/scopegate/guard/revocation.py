"""The guard's deny-list: revocations pushed by the servers (``scopegate.events``).

With ``redis_url`` set the guard subscribes to the servers' event channel and keeps every
active revocation (``jti``, API key id, client, subject, session) in memory until the
tokens it denies expire. A cache hit checks that set (a few dict lookups); a lost link
keeps what is known, exposes how stale it is, and resyncs on reconnect.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from prometheus_client import Gauge, Histogram

from scopegate.events import Channel, Event, Revocations, Watcher, channel_for

from .config import GuardConfig
from .revocation_poll import PollChannel

__all__ = ["PROPAGATION_DELAY", "STALENESS", "GuardRevocation", "revocation_keys"]

STALENESS = Gauge(
    "scopegate_guard_revocation_staleness_seconds",
    "Seconds since the guard's revocation data was last known complete (0: live).",
)
PROPAGATION_DELAY = Histogram(
    "scopegate_guard_revocation_propagation_seconds",
    "Delay from a server publishing a revocation or change to this guard hearing it.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def revocation_keys(claims: Any, subject: str, client_id: str) -> tuple[str, ...]:
    """The deny-list keys a token answers to (computed once, on a cache miss)."""
    keys = [f"client:{client_id}", f"sub:{subject}"]
    for claim, kind in (("jti", "jti"), ("key_id", "key"), ("sid", "sid")):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            keys.append(f"{kind}:{value}")
    return tuple(keys)


class GuardRevocation:
    """The deny-list and, when a channel is given, the watcher that keeps it current.

    :param channel: the servers' event channel (None: nothing is pushed, the set stays empty).
    :param on_event: called for every event (the authenticator drops cached entries).
    """

    def __init__(self, channel: Channel | None, on_event: Any = None) -> None:
        self.revocations = Revocations()
        self.channel = channel
        self.watcher: Watcher | None = None
        if channel is not None:
            self.watcher = Watcher(channel, revocations=self.revocations, on_event=on_event,
                                   on_delay=PROPAGATION_DELAY.observe)
            STALENESS.set_function(self.watcher.staleness_s)
        self._started = channel is None

    def ensure_started(self) -> None:
        """Start the watcher in the running loop on the first request."""
        if not self._started and self.watcher is not None:
            self._started = True
            self.watcher.start()

    def denies(self, keys: tuple[str, ...], issued_at: float) -> bool:
        return self.revocations.denies(keys, issued_at)

    def record(self, event: Event) -> None:
        """Record a revocation directly (tests, or a poller)."""
        self.revocations.add(event)

    def staleness_s(self) -> float:
        return self.watcher.staleness_s() if self.watcher is not None else 0.0

    async def aclose(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()
        if self.channel is not None:
            await self.channel.aclose()


def revocation_channel(config: GuardConfig, http: httpx.AsyncClient) -> Channel | None:
    """Redis when shared, else the server's feed polled with the introspection credentials."""
    if config.redis_url:
        return channel_for(config.redis_url, config.issuer)
    if config.revocation_poll_s and config.client_id and config.client_secret:
        return PollChannel(http, f"{config.issuer}/oauth/revocations",
                           client_id=config.client_id, client_secret=config.client_secret,
                           interval_s=config.revocation_poll_s)
    return None


def issued_at(claims: Any) -> float:
    """The token's ``iat`` (0 when absent: a cut-off then denies it, the safe side)."""
    iat = claims.get("iat")
    return float(iat) if isinstance(iat, int | float) else 0.0


def now() -> float:
    return time.time()
