"""Failure counters in Redis, shared by every replica; memory while Redis is down.

Each counter is a hash ``{n: failures, u: wait deadline in ms}`` that expires on its
own. One Lua script reserves an attempt on all of a request's counters at once, on the
Redis clock, so no other replica can interleave and skewed clocks do not matter; another
releases it. If Redis cannot answer, :class:`FailoverStore` decides in memory (each
replica then counts on its own), logs a warning at most once a minute, and asks Redis
again after a second.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Collection, Sequence

import redis.asyncio as redis_async
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from ._base import Counter, FailureStore, Ticket, refused
from .memory import MemoryFailureStore

__all__ = ["FailoverStore", "RedisFailureStore", "create_failure_store"]

logger = logging.getLogger(__name__)

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for _, key in ipairs(KEYS) do
  local lock = tonumber(redis.call('HGET', key, 'u') or '0')
  if lock - now > wait then wait = lock - now end
end
if wait > 0 then return {0, wait} end
local out = {1, 0}
for i, key in ipairs(KEYS) do
  local free, first, max, reset = tonumber(ARGV[4*i-3]), tonumber(ARGV[4*i-2]),
    tonumber(ARGV[4*i-1]), tonumber(ARGV[4*i])
  local n = redis.call('HINCRBY', key, 'n', 1)
  local lock = 0
  if n >= free then
    lock = now + math.ceil(math.min(max, first * 2 ^ math.min(n - free, 60)))
  end
  redis.call('HSET', key, 'u', string.format('%.0f', lock))
  redis.call('PEXPIRE', key, math.max(reset, lock - now))
  out[#out + 1] = string.format('%.0f', lock)
end
return out
"""
"""KEYS: counters; ARGV: free, first wait ms, max wait ms, reset ms per key.
Returns {0, wait ms} when refused, {1, 0, lock per key} when counted."""

_RELEASE = """
for i, key in ipairs(KEYS) do
  if ARGV[2*i] == '1' then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    if redis.call('HINCRBY', key, 'n', -1) < 0 then redis.call('HSET', key, 'n', 0) end
    if ARGV[2*i-1] ~= '0' and redis.call('HGET', key, 'u') == ARGV[2*i-1] then
      redis.call('HSET', key, 'u', '0')
    end
  end
end
return 0
"""
"""KEYS: counters; ARGV: per key the lock the attempt set, then '1' to forget the key."""


class RedisFailureStore:
    """Counters shared through Redis (raises ``RedisError`` or ``OSError`` when it is down).

    :param url: a ``redis://`` URL.
    :param prefix: prepended to every key.
    :param socket_timeout: seconds to wait on Redis; a login must not hang on it.
    """

    def __init__(self, url: str, *, prefix: str, socket_timeout: float = 0.25) -> None:
        self._url = url
        self._timeout = socket_timeout
        self._prefix = prefix
        self._client: redis_async.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._compiled: tuple[AsyncScript, AsyncScript]

    def _scripts(self) -> tuple[AsyncScript, AsyncScript]:
        """Reserve and release on the running loop's client (a server has one loop; tests
        start many). Each runs by SHA and reloads itself after ``NOSCRIPT``."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = redis_async.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout)
            self._loop = loop
            self._compiled = (self._client.register_script(_RESERVE),
                              self._client.register_script(_RELEASE))
        return self._compiled

    async def reserve(self, counters: Sequence[Counter]) -> Ticket:
        """Count one attempt on every counter, or on none if any of them is waiting."""
        args: list[int] = []
        for _, backoff in counters:
            args += [backoff.free, math.ceil(backoff.first_wait_s * 1000),
                     math.ceil(backoff.max_wait_s * 1000), backoff.reset_ms]
        keys = [self._prefix + key for key, _ in counters]
        reply = await self._scripts()[0](keys=keys, args=args)
        if int(reply[0]) != 1:
            return refused(int(reply[1]))
        return Ticket(admitted=True, keys=tuple(k for k, _ in counters),
                      locks=tuple(int(lock) for lock in reply[2:]))

    async def release(self, ticket: Ticket, *, forget: Collection[str] = ()) -> None:
        """Un-count an admitted attempt that did not fail; drop the counters in ``forget``."""
        args: list[str] = []
        for key, lock in zip(ticket.keys, ticket.locks, strict=True):
            args += [str(lock), "1" if key in forget else "0"]
        keys = [self._prefix + key for key in ticket.keys]
        await self._scripts()[1](keys=keys, args=args)

    async def aclose(self) -> None:
        """Close the connection pool of the running loop's client."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None


class FailoverStore:
    """Redis while it answers; this process's memory while it does not.

    :param probe_interval_s: how long to stay on memory after Redis failed.
    """

    def __init__(self, primary: RedisFailureStore, *, probe_interval_s: float = 1.0,
                 log_interval_s: float = 60.0) -> None:
        self._primary = primary
        self._local = MemoryFailureStore()
        self._probe_interval_s = probe_interval_s
        self._log_interval_s = log_interval_s
        self._skip_until = -math.inf
        self._last_warning = -math.inf
        self._down = False

    async def reserve(self, counters: Sequence[Counter]) -> Ticket:
        """Count on Redis, or in memory while Redis is down."""
        if time.monotonic() >= self._skip_until:
            try:
                ticket = await self._primary.reserve(counters)
            except (RedisError, OSError) as exc:
                self._failed(exc)
            else:
                self._recovered()
                return ticket
        ticket = await self._local.reserve(counters)
        return Ticket(ticket.admitted, ticket.retry_after_s, ticket.keys, ticket.locks,
                      local=True)

    async def release(self, ticket: Ticket, *, forget: Collection[str] = ()) -> None:
        """Release where the attempt was counted (a lost release only over-counts)."""
        if ticket.local:
            await self._local.release(ticket, forget=forget)
            return
        try:
            await self._primary.release(ticket, forget=forget)
        except (RedisError, OSError) as exc:
            self._failed(exc)

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self._primary.aclose()

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._skip_until = now + self._probe_interval_s
        self._down = True
        if now - self._last_warning >= self._log_interval_s:
            self._last_warning = now
            logger.warning("sign-in failure counters: Redis unavailable, counting in this "
                           "process only: %s", exc)

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            logger.info("sign-in failure counters: Redis available again")


def create_failure_store(redis_url: str | None, *, prefix: str) -> FailureStore:
    """Memory without a URL; else Redis with the in-memory fallback."""
    if redis_url is None:
        return MemoryFailureStore()
    return FailoverStore(RedisFailureStore(redis_url, prefix=prefix))
