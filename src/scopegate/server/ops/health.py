"""``GET /healthz`` and ``GET /readyz``: probes for a load balancer or an orchestrator.

``/healthz`` says the process answers (no I/O): restart it when this fails. ``/readyz``
says whether it can serve: the database answers ``SELECT 1`` and, when
``SCOPEGATE_REDIS_URL`` is set, Redis answers ``PING``, each within
:data:`CHECK_TIMEOUT` seconds; otherwise 503 naming what failed. Take the replica out of
rotation while it is not ready. A verdict is kept :data:`VERDICT_SECONDS`, so a probe
every second costs at most one round trip to each dependency per replica. Neither needs
credentials nor is cacheable.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...store import Database
from ..shared.responses import NO_STORE
from .logs import logger

__all__ = ["CHECK_TIMEOUT", "HEALTH_PATH", "READY_PATH", "VERDICT_SECONDS", "Readiness",
           "routes"]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
CHECK_TIMEOUT = 1.0
VERDICT_SECONDS = 1.0


def _ping_database(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


class Readiness:
    """Checks the dependencies of one process, and keeps the verdict a second.

    :param db: the server's database.
    :param redis_url: the shared Redis, or None when the server runs without it.
    """

    def __init__(self, db: Database, redis_url: str | None) -> None:
        self.db = db
        self.redis_url = redis_url
        self._redis: Any = None
        self._verdict: dict[str, str] = {}
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verdict(self) -> dict[str, str]:
        """Each dependency mapped to ``"ok"`` or why it failed (at most one check a second)."""
        async with self._lock:  # concurrent probes share one check
            if time.monotonic() - self._checked_at >= VERDICT_SECONDS:
                self._verdict = await self._check()
                self._checked_at = time.monotonic()
            return self._verdict

    async def _check(self) -> dict[str, str]:
        out = {"database": await self._bounded(run_in_threadpool(_ping_database, self.db))}
        if self.redis_url:
            out["redis"] = await self._bounded(self._ping_redis())
        return out

    async def _ping_redis(self) -> None:
        assert self.redis_url is not None
        if self._redis is None:
            import redis.asyncio as redis_async  # only a server configured with Redis needs it

            self._redis = redis_async.Redis.from_url(
                self.redis_url, socket_timeout=CHECK_TIMEOUT,
                socket_connect_timeout=CHECK_TIMEOUT)
        await self._redis.ping()

    @staticmethod
    async def _bounded(check: Any) -> str:
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT:g} s"
        except Exception as exc:  # any failure is a verdict, never a traceback
            logger.debug("readiness check failed", extra={"error": repr(exc)})
            return f"unreachable ({type(exc).__name__})"
        return "ok"

    async def aclose(self) -> None:
        """Close the Redis connection, if one was opened."""
        if self._redis is not None:
            await self._redis.aclose()


async def healthz(_request: Request) -> Response:
    """The process is alive (no I/O)."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


def readiness(request: Request) -> Readiness:
    """The app's :class:`Readiness`, made on first use."""
    app_state = request.app.state
    found = getattr(app_state, "readiness", None)
    if found is None:
        server = app_state.server
        found = app_state.readiness = Readiness(server.db, server.settings.redis_url)
        server.on_shutdown.append(found.aclose)
    assert isinstance(found, Readiness)
    return found


async def readyz(request: Request) -> Response:
    """200 when every dependency answers, else 503 naming the ones that do not."""
    checks = await readiness(request).verdict()
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route(HEALTH_PATH, healthz, methods=["GET"], name="healthz"),
    Route(READY_PATH, readyz, methods=["GET"], name="readyz"),
]

_PROBE = {"200": {"description": "ready"}, "503": {"description": "a dependency failed"}}
openapi_paths: dict[str, Any] = {
    HEALTH_PATH: {"get": {"summary": "Liveness probe", "operationId": "healthz",
                          "responses": {"200": {"description": "the process answers"}}}},
    READY_PATH: {"get": {"summary": "Readiness probe", "operationId": "readyz",
                         "responses": _PROBE}},
}
