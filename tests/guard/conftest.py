"""Guard fixtures: a real authorization-server stand-in over HTTP, guards and counting limiters."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from scopegate.guard import Guard, GuardConfig, GuardContext
from scopegate.ratelimit import Decision, MemoryRateLimiter

from .authserver import AUDIENCE, RS_CLIENT_ID, RS_CLIENT_SECRET, AuthServer, start_auth_server


class CountingLimiter:
    """The real memory limiter, counting every hit by key (to prove 'once per request')."""

    def __init__(self) -> None:
        self.inner = MemoryRateLimiter()
        self.hits: Counter[str] = Counter()

    async def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        self.hits[key] += 1
        return await self.inner.hit(key, limit=limit, window_s=window_s)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def token_hits(self) -> int:
        return sum(n for key, n in self.hits.items() if not key.startswith("authfail:"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _auth_server() -> Iterator[AuthServer]:
    state, thread = start_auth_server()
    yield state
    thread.stop()


@pytest.fixture
def server(_auth_server: AuthServer) -> AuthServer:
    """The stand-in authorization server, reset to one ES256 key and no opaque tokens."""
    _auth_server.reset()
    return _auth_server


@pytest.fixture
def limiter() -> CountingLimiter:
    return CountingLimiter()


MakeGuard = Callable[..., Guard]


@pytest.fixture
def make_guard(server: AuthServer, limiter: CountingLimiter) -> MakeGuard:
    """Build a guard against the stand-in; keyword arguments go to GuardConfig or Guard."""

    def make(**options: Any) -> Guard:
        guard_keys = {"resolve", "is_member", "authorize", "mount", "catalog", "limiter"}
        guard_kwargs = {k: options.pop(k) for k in list(options) if k in guard_keys}
        guard_kwargs.setdefault("limiter", limiter)
        config = GuardConfig(
            **{
                "issuer": server.issuer,
                "audience": AUDIENCE,
                "audience_mode": "enforce",
                "client_id": RS_CLIENT_ID,
                "client_secret": RS_CLIENT_SECRET,
                **options,
            }
        )
        return Guard(config, **guard_kwargs)

    return make


async def contexts_left_in_cycles(
        request: Callable[[], Awaitable[httpx.Response]]) -> tuple[httpx.Response, int]:
    """Send one request with the collector off; count guard contexts it left in cycles."""
    gc.collect()
    gc.disable()
    try:
        response = await request()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        leaked = sum(isinstance(o, GuardContext) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return response, leaked
