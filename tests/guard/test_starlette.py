"""Starlette middleware: deny by default, public marker, answers, audit, identity from token."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from scopegate.guard import Guard, RateLimit, public, requires
from scopegate.guard.adapters.starlette import GuardMiddleware, caller_of, context_of

from .authserver import AuthServer
from .conftest import CountingLimiter, MakeGuard, contexts_left_in_cycles

pytestmark = pytest.mark.anyio


@requires("apps:read")
async def list_apps(request: Request) -> JSONResponse:
    return JSONResponse({"caller": caller_of(request).subject})


@requires("apps:run")
async def run_app(request: Request) -> JSONResponse:
    body = await request.json()
    caller = caller_of(request)
    return JSONResponse({"ran_as": caller.subject, "body_user": body.get("user")})


@requires("apps:read", rate=RateLimit(2, 60))
async def tight(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@public
async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def forgotten(request: Request) -> PlainTextResponse:
    return PlainTextResponse("secret")


def build(guard: Guard) -> Starlette:
    return Starlette(
        routes=[
            Route("/apps", list_apps),
            Route("/apps/run", run_app, methods=["POST"]),
            Route("/tight", tight),
            Route("/health", health),
            Route("/forgotten", forgotten),
            Mount("/v2", routes=[Route("/apps", list_apps), Route("/forgotten", forgotten)]),
        ],
        middleware=[Middleware(GuardMiddleware, guard=guard)],
    )


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_declared_route_serves_the_token_subject(server: AuthServer,
                                                       make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        response = await http.get("/apps", headers=bearer(server.mint(sub="alice")))
        nested = await http.get("/v2/apps", headers=bearer(server.mint(sub="bob")))
    assert response.status_code == 200 and response.json() == {"caller": "alice"}
    assert nested.status_code == 200 and nested.json() == {"caller": "bob"}


async def test_undeclared_routes_are_denied_by_default(server: AuthServer,
                                                       make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        token = bearer(server.mint(scope="scopegate:all"))
        for path in ("/forgotten", "/v2/forgotten"):
            response = await http.get(path, headers=token)
            assert response.status_code == 403
            assert response.json()["error"] == "access_denied"
            assert "secret" not in response.text
        assert (await http.get("/health")).text == "ok"  # explicitly public
        assert (await http.get("/nope")).status_code == 404  # the router still answers


async def test_missing_token_is_401_with_challenge(make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        response = await http.get("/apps")
        bad = await http.get("/apps", headers=bearer("garbage.token.here"))
    for answer in (response, bad):
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_token"
        assert answer.headers["Cache-Control"] == "no-store"
    assert response.headers["WWW-Authenticate"].startswith(  # no error code: RFC 6750 §3.1
        'Bearer realm="scopegate", resource_metadata=')
    challenge = bad.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="scopegate", error="invalid_token"')


async def test_insufficient_scope_is_403_with_scope_challenge(server: AuthServer,
                                                              make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        response = await http.post("/apps/run", headers=bearer(server.mint()), json={})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="scopegate", error="insufficient_scope"')
    assert ', scope="apps:run"' in challenge


async def test_rate_limit_429_fields(server: AuthServer, make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        token = bearer(server.mint())
        statuses = [(await http.get("/tight", headers=token)).status_code for _ in range(2)]
        refused = await http.get("/tight", headers=token)
        other_route = await http.get("/apps", headers=token)  # its own (default) budget
    assert statuses == [200, 200]
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == {"error", "retry_after_ms"} and body["error"] == "rate_limited"
    assert isinstance(body["retry_after_ms"], int) and 0 < body["retry_after_ms"] <= 60_000
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) * 1000 >= body["retry_after_ms"]
    assert other_route.status_code == 200


async def test_default_limit_is_60_per_minute(server: AuthServer, make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        token = bearer(server.mint())
        codes = [(await http.get("/apps", headers=token)).status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429


async def test_body_user_field_is_ignored(server: AuthServer, make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        response = await http.post("/apps/run", headers=bearer(server.mint(scope="apps:run")),
                                   json={"user": "mallory", "input": 1})
    assert response.json() == {"ran_as": "user-1", "body_user": "mallory"}


async def test_one_audit_event_per_successful_call(server: AuthServer, make_guard: MakeGuard,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scopegate.audit")
    async with client(build(make_guard())) as http:
        await http.get("/apps", headers=bearer(server.mint(sub="alice", client_id="web")))
        await http.get("/apps")  # refused: no audit event
    events = [r for r in caplog.records if getattr(r, "audit", False)]
    assert len(events) == 1
    event = events[0].__dict__
    assert (event["subject"], event["client_id"], event["route"], event["status"]) == (
        "alice", "web", "/apps", 200)
    assert event["scopes"] == ["apps:read"] and event["workspace"] is None


async def test_an_exchanged_token_shows_who_acts_for_the_caller(
        server: AuthServer, make_guard: MakeGuard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scopegate.audit")
    seen: list[tuple[str, str | None]] = []

    @requires("apps:read")
    async def who(request: Request) -> PlainTextResponse:
        caller = caller_of(request)
        seen.append((caller.subject, caller.actor))
        return PlainTextResponse("ok")

    guard = make_guard()
    app = Starlette(routes=[Route("/who", who)],
                    middleware=[Middleware(GuardMiddleware, guard=guard)])
    act = {"sub": "orders-api", "act": {"sub": "web-api"}}  # RFC 8693 §4.1, nested
    async with client(app) as http:
        answer = await http.get("/who", headers=bearer(server.mint(sub="alice", act=act)))
        plain = await http.get("/who", headers=bearer(server.mint(sub="bob")))
    assert answer.status_code == plain.status_code == 200
    assert seen == [("alice", "orders-api"), ("bob", None)]
    events = [r.__dict__ for r in caplog.records if getattr(r, "audit", False)]
    assert [(e["subject"], e["actor"]) for e in events] == [("alice", "orders-api"),
                                                            ("bob", None)]


async def test_limiter_fires_once_per_request(server: AuthServer, make_guard: MakeGuard,
                                              limiter: CountingLimiter) -> None:
    async with client(build(make_guard())) as http:
        for _ in range(3):
            await http.get("/apps", headers=bearer(server.mint()))
    assert limiter.token_hits() == 3


async def test_context_is_exposed_to_the_handler(server: AuthServer,
                                                 make_guard: MakeGuard) -> None:
    seen = {}

    @requires("apps:read")
    async def peek(request: Request) -> PlainTextResponse:
        ctx = context_of(request)
        assert ctx is not None
        seen["hash"] = ctx.token_hash
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/peek", peek)],
                    middleware=[Middleware(GuardMiddleware, guard=make_guard())])
    async with client(app) as http:
        assert (await http.get("/peek", headers=bearer(server.mint()))).status_code == 200
    assert len(seen["hash"]) == 64


async def test_a_guarded_request_leaves_no_reference_cycle(server: AuthServer,
                                                           make_guard: MakeGuard) -> None:
    # The context holds the scope and the scope the context; the middleware must drop
    # that link when the request ends, or every request becomes garbage-collector work.
    app = build(make_guard())
    async with client(app) as http:
        token = bearer(server.mint())
        await http.get("/apps", headers=token)  # warm the caches outside the measurement
        response, leaked = await contexts_left_in_cycles(lambda: http.get("/apps", headers=token))
    assert response.status_code == 200
    assert leaked == 0
