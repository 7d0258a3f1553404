"""Guard settings are checked when the guard is built, never on a request."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from scopegate.config_checks import ConfigError
from scopegate.guard import Guard, GuardConfig, RateLimit, requires
from scopegate.guard.adapters.starlette import GuardMiddleware
from scopegate.ratelimit import MAX_LIMIT, MAX_WINDOW_S, MIN_WINDOW_S, MemoryRateLimiter

from .authserver import AUDIENCE, AuthServer

pytestmark = pytest.mark.anyio

GOOD = {"SCOPEGATE_ISSUER": "https://auth.example.com", "SCOPEGATE_AUDIENCE": AUDIENCE}

BAD = [
    ("SCOPEGATE_RATE_LIMIT", "100001/60"),
    ("SCOPEGATE_RATE_LIMIT", "60/90000"),
    ("SCOPEGATE_RATE_LIMIT", "60/0.0001"),
    ("SCOPEGATE_RATE_LIMIT", "60/nan"),
    ("SCOPEGATE_RATE_LIMIT", "0/60"),
    ("SCOPEGATE_RATE_LIMIT", "sixty"),
    ("SCOPEGATE_RATE_LIMIT", "60/60/60"),
    ("SCOPEGATE_GUARD_FAILURE_LIMIT", "20/0"),
    ("SCOPEGATE_ISSUER", "ftp://auth.example.com"),
    ("SCOPEGATE_ISSUER", "https://auth.example.com/?tenant=1"),
    ("SCOPEGATE_ISSUER", "https://auth.example.com/#x"),
    ("SCOPEGATE_ISSUER", ""),
    ("SCOPEGATE_AUDIENCE", "not a uri"),
    ("SCOPEGATE_AUDIENCE_MODE", "strict"),
    ("SCOPEGATE_REDIS_URL", "http://127.0.0.1:6379"),
    ("SCOPEGATE_REALM", 'say "hi"'),
    ("SCOPEGATE_GUARD_CLIENT_ID", "rs-only-id"),
    ("SCOPEGATE_GUARD_CLIENT_SECRET", "secret-without-an-id"),
]


@pytest.mark.parametrize(("variable", "value"), BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_a_bad_variable_is_refused_at_construction(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        GuardConfig.from_env({**GOOD, variable: value})
    message = str(refused.value)
    assert variable in message and "must be" in message and "\n" not in message
    assert "secret-without-an-id" not in message  # a secret is never repeated


@pytest.mark.parametrize(("limit", "window_s"), [(MAX_LIMIT + 1, 60), (60, MAX_WINDOW_S + 1),
                                                 (60, MIN_WINDOW_S / 10)],
                         ids=["limit", "long-window", "short-window"])
def test_a_route_rate_the_limiter_cannot_honour_is_refused(limit: int, window_s: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):  # @requires(rate=...) at import
        RateLimit(limit, window_s)


def test_the_limits_the_limiter_supports_are_accepted() -> None:
    config = GuardConfig.from_env({**GOOD, "SCOPEGATE_RATE_LIMIT": f"{MAX_LIMIT}/{MIN_WINDOW_S}",
                                   "SCOPEGATE_GUARD_FAILURE_LIMIT": f"1/{MAX_WINDOW_S:g}"})
    assert config.rate_limit == RateLimit(MAX_LIMIT, MIN_WINDOW_S)
    assert config.failed_auth_limit == RateLimit(1, MAX_WINDOW_S)
    assert GuardConfig.from_env(GOOD).failed_auth_limit is None  # the throttle is off


@requires("apps:read")
async def apps(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@pytest.mark.parametrize("rate", [f"{MAX_LIMIT}/60", f"60/{MAX_WINDOW_S:g}", f"60/{MIN_WINDOW_S}"])
async def test_whatever_start_up_accepts_serves_requests(rate: str, server: AuthServer) -> None:
    config = GuardConfig.from_env({"SCOPEGATE_ISSUER": server.issuer,
                                   "SCOPEGATE_AUDIENCE": AUDIENCE,
                                   "SCOPEGATE_RATE_LIMIT": rate,
                                   "SCOPEGATE_GUARD_FAILURE_LIMIT": rate})
    guard = Guard(config, limiter=MemoryRateLimiter())
    app = Starlette(routes=[Route("/apps", apps)],
                    middleware=[Middleware(GuardMiddleware, guard=guard)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://api") as http:
        ok = await http.get("/apps", headers={"Authorization": f"Bearer {server.mint()}"})
        junk = await http.get("/apps", headers={"Authorization": "Bearer junk"})
    await guard.aclose()
    assert ok.status_code == 200
    assert junk.status_code == 401


def test_every_field_has_a_start_up_check() -> None:
    import dataclasses

    from scopegate.guard.config import FIELD_CHECKS

    names = {f.name for f in dataclasses.fields(GuardConfig)}
    assert names == set(FIELD_CHECKS) | {"rate_limit", "failed_auth_limit"}  # RateLimit checks
