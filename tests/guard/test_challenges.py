"""RFC 6750 §3.1 answers and the failure throttle, through every adapter.

No credentials: 401 with a challenge without error code (realm, the RFC 9728 metadata
URL and the route's scopes). Two
``Authorization`` headers: 400 ``invalid_request``. A valid token is never refused
because other requests from the same address failed; the failure throttle is off unless
configured, and its 429 carries a Bearer challenge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scopegate.guard import Caller, Guard, RateLimit, requires
from scopegate.guard.adapters.fastapi import RequireScopes, install
from scopegate.guard.adapters.flask import ScopeGate, current_caller
from scopegate.guard.adapters.starlette import GuardMiddleware, caller_of

from .authserver import AuthServer
from .conftest import MakeGuard


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    body: dict[str, object]


Send = Callable[[list[tuple[str, str]]], Answer]


def _starlette(guard: Guard) -> Starlette:
    @requires("apps:read")
    async def apps(request: Request) -> JSONResponse:
        return JSONResponse({"caller": caller_of(request).subject})

    return Starlette(routes=[Route("/apps", apps)],
                     middleware=[Middleware(GuardMiddleware, guard=guard)])


def _fastapi(guard: Guard) -> FastAPI:
    app = FastAPI()
    install(app, guard)

    @app.get("/apps")
    async def apps(caller: Caller = Depends(RequireScopes("apps:read"))) -> dict[str, str]:
        return {"caller": caller.subject}

    return app


@contextmanager
def _asgi_sender(app: Starlette) -> Iterator[Send]:
    """One event loop for every request (the guard's HTTP client belongs to one loop)."""
    with start_blocking_portal() as portal:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")

        def send(headers: list[tuple[str, str]]) -> Answer:
            response = portal.call(lambda: http.get("/apps", headers=headers))
            body = response.json() if response.content else {}
            return Answer(response.status_code, response.headers, body)

        try:
            yield send
        finally:
            portal.call(http.aclose)


@contextmanager
def _flask_sender(guard: Guard) -> Iterator[Send]:
    app = Flask(__name__)
    gate = ScopeGate(app, guard)

    @app.get("/apps")
    @requires("apps:read")
    def apps() -> dict[str, str]:
        return {"caller": current_caller().subject}

    http = app.test_client()

    def send(headers: list[tuple[str, str]]) -> Answer:
        response = http.get("/apps", headers=headers)
        return Answer(response.status_code, httpx.Headers(list(response.headers.items())),
                      response.json or {})

    try:
        yield send
    finally:
        gate.close()


@contextmanager
def adapter(name: str, guard: Guard) -> Iterator[Send]:
    if name == "flask":
        with _flask_sender(guard) as send:
            yield send
        return
    with _asgi_sender(_starlette(guard) if name == "starlette" else _fastapi(guard)) as send:
        yield send


ADAPTERS = ["starlette", "fastapi", "flask"]


@pytest.mark.parametrize("name", ADAPTERS)
@pytest.mark.parametrize("headers", [[], [("Authorization", "Basic dXNlcjpwYXNz")]],
                         ids=["no-header", "other-scheme"])
def test_no_credentials_get_a_challenge_without_error_code(
        name: str, headers: list[tuple[str, str]], make_guard: MakeGuard) -> None:
    with adapter(name, make_guard()) as send:
        answer = send(headers)
    assert answer.status == 401
    # No error code (RFC 6750 §3.1); where to learn more, and what to ask for (RFC 9728 §5.1).
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="scopegate", resource_metadata="https://api.scopegate.example'
        '/.well-known/oauth-protected-resource", scope="apps:read"')


@pytest.mark.parametrize("name", ADAPTERS)
def test_two_authorization_headers_are_invalid_request(name: str, server: AuthServer,
                                                       make_guard: MakeGuard) -> None:
    token = server.mint()
    with adapter(name, make_guard()) as send:
        twice = send([("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")])
        once = send([("Authorization", f"Bearer {token}")])
    assert twice.status == 400 and twice.body["error"] == "invalid_request"
    assert once.status == 200


@pytest.mark.parametrize("name", ADAPTERS)
def test_failures_from_an_address_never_refuse_a_valid_token(
        name: str, server: AuthServer, make_guard: MakeGuard) -> None:
    with adapter(name, make_guard()) as send:
        for i in range(25):  # a neighbour behind the same NAT sends junk
            assert send([("Authorization", f"Bearer junk-{i}")]).status == 401
        fresh = send([("Authorization", f"Bearer {server.mint()}")])
    assert fresh.status == 200


@pytest.mark.parametrize("name", ADAPTERS)
def test_the_failure_throttle_is_opt_in_and_challenges(
        name: str, server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(failed_auth_limit=RateLimit(3, 60))
    with adapter(name, guard) as send:
        statuses = [send([("Authorization", f"Bearer junk-{i}")]).status for i in range(3)]
        throttled = send([("Authorization", "Bearer junk-x")])
        fresh = send([("Authorization", f"Bearer {server.mint()}")])
    assert statuses == [401, 401, 401]
    assert throttled.status == 429
    assert throttled.headers["WWW-Authenticate"].startswith('Bearer realm="scopegate"')
    assert int(throttled.headers["Retry-After"]) > 0
    assert fresh.status == 200
