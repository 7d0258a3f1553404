"""The Redis channel: pub/sub for speed, a sorted set of active revocations for truth.

Pub/sub loses whatever is published while a subscriber is disconnected, so every
revocation is also added to ``<prefix>revocations`` (scored by its expiry); a subscriber
subscribes first, then reads that set, so nothing falls between the two.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ._channel import Channel, Listener
from ._memory import InProcessChannel
from ._model import CHANGED, Event

__all__ = ["DEFAULT_PREFIX", "RedisChannel", "channel_for", "events_prefix"]

DEFAULT_PREFIX = "scopegate:events:"
_TIMEOUT_S = 2.0
_MAX_UNSENT = 10_000  # revocations kept for a later publish while Redis is away


def _redis_error() -> type[Exception]:
    """redis-py's base error, imported late: the guard extra may lack redis."""
    from redis.exceptions import RedisError

    return RedisError


class RedisChannel:
    """Events shared by every replica that uses the same Redis and ``prefix``."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.topic = f"{prefix}bus"
        self.active_key = f"{prefix}revocations"
        self._client: Any = None
        self._sync: Any = None
        # Revocations whose publish failed, sent again with the next publish or when the
        # listener reconnects: an outage delays a revocation, it never loses it.
        self._unsent: dict[str, Event] = {}

    def _async_client(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis_async

            self._client = redis_async.from_url(
                self.url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S)
        return self._client

    async def publish(self, event: Event) -> None:
        """Publish; a revocation is stored first, so a missed message is still resynced."""
        if event.kind != CHANGED and len(self._unsent) < _MAX_UNSENT:
            self._unsent[event.encode()] = event
        try:
            await self._send_unsent(also=event)
        except (_redis_error(), OSError) as exc:
            raise ConnectionError(f"cannot publish to Redis (kept to send again): {exc}"
                                  ) from exc

    async def _send_unsent(self, also: Event | None = None) -> None:
        """Send every kept revocation (dropping expired ones) and ``also``, in one pipeline."""
        now = time.time()
        pending = [e for e in self._unsent.values() if e.expires_at > now]
        if also is not None and also.kind == CHANGED:
            pending.append(also)
        if not pending:
            self._unsent.clear()
            return
        async with self._async_client().pipeline(transaction=False) as pipe:
            for event in pending:
                if event.kind != CHANGED:
                    pipe.zadd(self.active_key, {event.encode(): event.expires_at})
                pipe.publish(self.topic, event.encode())
            await pipe.execute()
        for event in pending:
            self._unsent.pop(event.encode(), None)

    def publish_sync(self, event: Event) -> None:
        if self._sync is None:
            import redis as redis_sync

            self._sync = redis_sync.Redis.from_url(
                self.url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S)
        try:
            pipe = self._sync.pipeline(transaction=False)
            if event.kind != CHANGED:
                pipe.zadd(self.active_key, {event.encode(): event.expires_at})
            pipe.publish(self.topic, event.encode())
            pipe.execute()
        except (_redis_error(), OSError) as exc:
            raise ConnectionError(f"cannot publish to Redis: {exc}") from exc

    async def listen(self, deliver: Listener, on_connected: Callable[[], Awaitable[None]]
                     ) -> None:
        """Subscribe, replay active revocations, then deliver live events until cancelled."""
        import redis.asyncio as redis_async

        client = redis_async.from_url(self.url, socket_connect_timeout=_TIMEOUT_S,
                                      health_check_interval=1)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.topic)
            await self._send_unsent()  # what this replica revoked while Redis was away
            await self._replay(client, deliver)
            await on_connected()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    deliver(Event.decode(message["data"]))
                elif message is None:
                    await pubsub.ping()  # notices a dead link within a second
        except (_redis_error(), OSError) as exc:
            raise ConnectionError(f"Redis event link lost: {exc}") from exc
        finally:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8
                await client.aclose()
            except (_redis_error(), OSError):
                pass

    async def _replay(self, client: Any, deliver: Listener) -> None:
        now = time.time()
        await client.zremrangebyscore(self.active_key, "-inf", now)
        for raw in await client.zrangebyscore(self.active_key, now, "+inf"):
            deliver(Event.decode(raw))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._sync is not None:
            self._sync.close()
            self._sync = None


def events_prefix(issuer: str) -> str:
    """The Redis key prefix of one deployment's events: its servers and guards share the
    issuer, so two deployments on one Redis never hear each other."""
    return f"{DEFAULT_PREFIX}{issuer}:"


def channel_for(redis_url: str | None, issuer: str) -> Channel:
    """The shared Redis channel of ``issuer``'s deployment, or an in-process one."""
    if redis_url:
        return RedisChannel(redis_url, prefix=events_prefix(issuer))
    return InProcessChannel()
