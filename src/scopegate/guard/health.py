"""``/healthz`` and ``/readyz`` of a guarded API, answered by every adapter without a token.

``/healthz`` says the process answers (no I/O). ``/readyz`` says whether the guard can
decide: it holds the issuer's signing keys (cached, or fetched now) and, when
``GuardConfig.redis_url`` is set, Redis answers ``PING``; each check is bounded by
:data:`CHECK_TIMEOUT` and a verdict is kept :data:`VERDICT_SECONDS`, so a probe every
second costs at most one round trip per dependency. A failure answers 503 naming the
dependency. The paths need no scope declaration (like the RFC 9728 document); an app
route at the same path is shadowed: when the API has its own, set
``guard.probe_paths = ("/livez", "/ready")`` (liveness, readiness) before serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from typing import Any

from .jwks import JWKSCache

__all__ = ["CHECK_TIMEOUT", "HEALTH_PATH", "PROBE_HEADERS", "PROBE_METHODS", "READY_PATH",
           "VERDICT_SECONDS", "GuardReadiness", "probe_answer"]

log = logging.getLogger("scopegate.guard")

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
PROBE_METHODS = frozenset({"GET", "HEAD"})
PROBE_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}
CHECK_TIMEOUT = 1.0
VERDICT_SECONDS = 1.0


class GuardReadiness:
    """The dependencies of one guard, checked at most once a second.

    :param jwks: the guard's signing keys (held keys count as ready: they still verify).
    :param redis_url: the Redis its limiter shares, or None.
    """

    def __init__(self, jwks: JWKSCache, redis_url: str | None) -> None:
        self.jwks = jwks
        self.redis_url = redis_url
        self._redis: Any = None
        self._verdict: dict[str, str] = {}
        self._checked_at = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def verdict(self) -> dict[str, str]:
        """Each dependency mapped to ``"ok"`` or why it failed."""
        if self._lock is None:  # made on first use, inside the loop that serves probes
            self._lock = asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._checked_at >= VERDICT_SECONDS:
                self._verdict = await self._check()
                self._checked_at = time.monotonic()
            return self._verdict

    async def _check(self) -> dict[str, str]:
        out = {"authorization_server": await _bounded(self.jwks.ensure_loaded())}
        if self.redis_url:
            out["redis"] = await _bounded(self._ping_redis())
        return out

    async def _ping_redis(self) -> None:
        if self._redis is None:
            import redis.asyncio as redis_async  # only a guard configured with Redis needs it

            self._redis = redis_async.Redis.from_url(
                str(self.redis_url), socket_timeout=CHECK_TIMEOUT,
                socket_connect_timeout=CHECK_TIMEOUT)
        await self._redis.ping()

    async def aclose(self) -> None:
        """Close the Redis connection, if one was opened."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


async def _bounded(check: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:  # any failure is a verdict, never a traceback
        log.debug("readiness check failed: %r", exc)
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def probe_answer(readiness: GuardReadiness, paths: tuple[str, str],
                       path: str) -> tuple[int, bytes]:
    """Status and JSON body of the probe at ``path``, one of ``paths`` (alive, ready)."""
    if path == paths[0]:
        return 200, b'{"status":"ok"}'
    checks = await readiness.verdict()
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return (200 if ready else 503), json.dumps(body).encode()
