"""Sliding-window limiter shared by every replica through Redis: one atomic script per hit.

Each bucket is a sorted set of admissions scored by the time Redis admitted them. One
Lua script decides a hit on the server, so no other hit can interleave and the limit
holds across any number of processes:

- ``TIME``: the server's clock, so replicas with skewed clocks still share one window;
- ``ZREMRANGEBYSCORE -inf now-window``: admissions that left the window go;
- ``ZCARD``: admissions still inside;
- room left: ``ZADD now <unique member>`` then ``PEXPIRE window`` (the set dies with its
  newest admission, so idle buckets cost nothing);
- full: the entry whose departure frees a slot gives ``retry_after_ms``.

A look (:meth:`RedisRateLimiter.peek`) runs the same script with counting off.

The script is sent by SHA (``EVALSHA``), so a hit is one command. After ``SCRIPT FLUSH``
or a fail-over the server answers ``NOSCRIPT``; that one hit then uses ``EVAL``, which also
reloads the script. Members are 96 random bits (hex), unique per request even across forked
workers, so two hits in the same microsecond never merge into one.

Async hits share one connection with automatic pipelining
(:class:`~scopegate.ratelimit._pipelined.PipelinedConnection`): the hits of concurrent
requests issued in the same event-loop tick travel in one write, so a hit costs at most
one round trip and under load a fraction of one. Each ``EVALSHA`` still runs atomically
on its own; only the transport is shared. Blocking hits (Flask) use a small pool.

Any Redis failure raises :class:`RateLimiterUnavailable`; wrap this limiter in
:class:`~scopegate.ratelimit.fallback.FallbackRateLimiter` (as ``create_rate_limiter``
does) to turn that into a policy instead of an error.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

try:
    import redis as redis_sync
except ImportError as missing:  # the memory limiter needs no redis; this one does
    raise ImportError("the Redis rate limiter needs redis: install scopegate[redis]: "
                      "pip install 'scopegate[redis]'", name="redis") from missing
import redis.asyncio as redis_async
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry as SyncRetry

from ._base import Decision, RateLimiterUnavailable
from ._bounds import DEFAULT_PREFIX, check_hit
from ._pipelined import PipelinedConnection, PipelineStats

__all__ = ["DEFAULT_PREFIX", "SLIDING_WINDOW_LUA", "PipelineStats", "RedisRateLimiter"]

SLIDING_WINDOW_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[4] == '0' then
    return {1, limit - count, 0}
  end
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, limit - count - 1, 0}
end
local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
local retry = math.ceil((tonumber(blocking[2]) + window - now) / 1000)
if retry < 1 then retry = 1 end
return {0, 0, retry}
"""
"""KEYS[1]: bucket; ARGV: limit, window in microseconds, unique member, '1' to count the
request or '0' to only look. Returns {allowed (0/1), remaining, retry_after_ms}."""

_SCRIPT_SHA = hashlib.sha1(SLIDING_WINDOW_LUA.encode("utf-8"), usedforsecurity=False).hexdigest()


def _decision(reply: Any, limit: int) -> Decision:
    allowed, remaining, retry_ms = reply  # Lua numbers arrive as RESP integers
    return Decision(allowed=allowed == 1, limit=limit, remaining=int(remaining),
                    retry_after_ms=int(retry_ms))


class RedisRateLimiter:
    """A sliding-window limiter whose buckets live in Redis, shared by every replica.

    :param url_or_client: a ``redis://`` URL (connections are then made here, with short
        timeouts and no retries, and closed by :meth:`aclose` / :meth:`close`), or a
        ``redis.asyncio.Redis`` (for :meth:`hit`; the limiter borrows one connection of
        its pool until :meth:`aclose`) or ``redis.Redis`` (for :meth:`hit_sync`) that the
        caller owns and closes.
    :param prefix: prepended to every bucket id to make its Redis key, so the limiter's
        keys are easy to find and purge.
    :param socket_timeout: seconds to connect or to wait for a reply before giving up
        (URL only); keep it short, a limiter must not stall the request it guards.
    :param max_connections: pool size of the blocking client (URL only); extra blocking
        hits wait up to ``socket_timeout`` for a free connection. Async hits always share
        one pipelined connection.

    One limiter serves one event loop at a time: a new loop starts a new connection, and
    the previous loop's one can only be closed on that loop, so call :meth:`aclose`
    before leaving a loop for good.
    """

    def __init__(
        self,
        url_or_client: str | redis_async.Redis | redis_sync.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = 0.25,
        max_connections: int = 64,
    ) -> None:
        self._prefix = prefix
        self._url: str | None = None
        self._socket_timeout = socket_timeout
        self._max_connections = max_connections
        self._async_pool: redis_async.ConnectionPool | None = None
        self._sync: redis_sync.Redis | None = None
        if isinstance(url_or_client, str):
            self._url = url_or_client
            self._async_pool = self._async_pool_from_url(url_or_client)  # parses the URL now
        elif isinstance(url_or_client, redis_async.Redis):
            self._async_pool = url_or_client.connection_pool
        elif isinstance(url_or_client, redis_sync.Redis):
            self._sync = url_or_client
        else:
            raise TypeError("url_or_client must be a redis:// URL or a redis-py client")
        self._owns_clients = self._url is not None
        self._pipe: PipelinedConnection | None = None
        if self._async_pool is not None:
            self._pipe = PipelinedConnection(self._async_pool.get_connection, self._give_back,
                                             timeout=socket_timeout)

    @property
    def prefix(self) -> str:
        """The string prepended to every key in Redis."""
        return self._prefix

    @property
    def stats(self) -> PipelineStats:
        """Commands and round trips the async hits have cost so far (zeros without one)."""
        return self._pipe.stats if self._pipe is not None else PipelineStats(0, 0)

    async def hit(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``bucket_id`` in one round trip if the shared window has room.

        :raises RateLimiterUnavailable: Redis unreachable, too slow or erroring.
        """
        return await self._run(bucket_id, limit, window_s, count=True)

    async def peek(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Say in one round trip whether a hit on ``bucket_id`` would be admitted, counting nothing.

        :raises RateLimiterUnavailable: Redis unreachable, too slow or erroring.
        """
        return await self._run(bucket_id, limit, window_s, count=False)

    def hit_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request for ``bucket_id`` in one blocking round trip (Flask).

        :raises RateLimiterUnavailable: Redis unreachable, too slow or erroring.
        """
        return self._run_sync(bucket_id, limit, window_s, count=True)

    def peek_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """The blocking twin of :meth:`peek`.

        :raises RateLimiterUnavailable: Redis unreachable, too slow or erroring.
        """
        return self._run_sync(bucket_id, limit, window_s, count=False)

    async def _run(self, bucket_id: str, limit: int, window_s: float, *, count: bool) -> Decision:
        check_hit(bucket_id, limit, window_s)
        pipe = self._pipe
        if pipe is None:
            raise RuntimeError("this RedisRateLimiter was given a sync client: use hit_sync")
        args = self._args(bucket_id, limit, window_s, count)
        try:
            try:
                reply = await pipe.execute("EVALSHA", _SCRIPT_SHA, 1, *args)
            except NoScriptError:
                reply = await pipe.execute("EVAL", SLIDING_WINDOW_LUA, 1, *args)
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(f"Redis rate limiter failed: {exc}") from exc
        return _decision(reply, limit)

    def _run_sync(self, bucket_id: str, limit: int, window_s: float, *, count: bool) -> Decision:
        check_hit(bucket_id, limit, window_s)
        client = self._sync_client()
        args = self._args(bucket_id, limit, window_s, count)
        try:
            try:
                reply = client.evalsha(_SCRIPT_SHA, 1, *args)
            except NoScriptError:
                reply = client.eval(SLIDING_WINDOW_LUA, 1, *args)
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(f"Redis rate limiter failed: {exc}") from exc
        return _decision(reply, limit)

    async def aclose(self) -> None:
        """Close the clients this limiter built from its URL (never a caller's client)."""
        if self._pipe is not None:
            await self._pipe.aclose()
        if self._owns_clients:
            if self._async_pool is not None:
                await self._async_pool.disconnect()
            self.close()

    def close(self) -> None:
        """Close the sync client this limiter built from its URL (never a caller's client)."""
        if self._owns_clients and self._sync is not None:
            self._sync.close()
            self._sync = None

    def _args(self, bucket_id: str, limit: int, window_s: float,
              count: bool) -> Sequence[str | int]:
        member = os.urandom(12).hex() if count else ""
        return (self._prefix + bucket_id, limit, round(window_s * 1_000_000), member, int(count))

    def _sync_client(self) -> redis_sync.Redis:
        if self._sync is None:
            if self._url is None:
                raise RuntimeError("this RedisRateLimiter was given an async client: use hit")
            self._sync = redis_sync.Redis.from_pool(
                redis_sync.BlockingConnectionPool.from_url(
                    self._url,
                    max_connections=self._max_connections,
                    timeout=self._socket_timeout,
                    socket_timeout=self._socket_timeout,
                    socket_connect_timeout=self._socket_timeout,
                    retry=SyncRetry(NoBackoff(), 0),
                )
            )
        return self._sync

    async def _give_back(self, conn: AbstractConnection) -> None:
        assert self._async_pool is not None
        await self._async_pool.release(conn)

    def _async_pool_from_url(self, url: str) -> redis_async.ConnectionPool:
        # No retries: a retried EVALSHA whose reply was lost would count one request
        # twice, and a failing hit is better served by the fallback policy at once.
        # No per-read socket timeout: the pipelined connection keeps one deadline per
        # batch of replies instead (a timer per reply cost a third of a hit's CPU).
        return redis_async.ConnectionPool.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=self._socket_timeout,
            retry=AsyncRetry(NoBackoff(), 0),
        )
