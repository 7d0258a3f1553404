"""RFC 9470 at the resource, through every adapter: a route declaring ``max_age`` or
``acr_values`` refuses an old or weak sign-in with 401 ``insufficient_user_authentication``
naming what it needs, and serves a recent one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

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

from scopegate.client._challenges import AuthDemand, user_authentication
from scopegate.guard import Caller, Guard, requires
from scopegate.guard.adapters.fastapi import RequireScopes, install
from scopegate.guard.adapters.flask import ScopeGate, current_caller
from scopegate.guard.adapters.starlette import GuardMiddleware, caller_of

from .authserver import AuthServer
from .conftest import MakeGuard

ACR = "urn:scopegate:acr:password"


def _starlette(guard: Guard) -> Starlette:
    @requires("apps:read", max_age=300)
    async def recent(request: Request) -> JSONResponse:
        return JSONResponse({"caller": caller_of(request).subject})

    @requires("apps:read", acr_values=["urn:example:mfa", ACR])
    async def strong(request: Request) -> JSONResponse:
        return JSONResponse({"caller": caller_of(request).subject})

    return Starlette(routes=[Route("/recent", recent), Route("/strong", strong)],
                     middleware=[Middleware(GuardMiddleware, guard=guard)])


def _fastapi(guard: Guard) -> FastAPI:
    app = FastAPI()
    install(app, guard)

    @app.get("/recent")
    async def recent(caller: Caller = Depends(RequireScopes("apps:read", max_age=300))
                     ) -> dict[str, str]:
        return {"caller": caller.subject}

    @app.get("/strong")
    async def strong(caller: Caller = Depends(RequireScopes(
            "apps:read", acr_values=["urn:example:mfa", ACR]))) -> dict[str, str]:
        return {"caller": caller.subject}

    return app


@contextmanager
def _asgi(app: Starlette | FastAPI) -> Iterator[object]:
    with start_blocking_portal() as portal:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")

        def send(path: str, token: str) -> httpx.Response:
            return portal.call(lambda: http.get(path, headers={
                "Authorization": f"Bearer {token}"}))

        try:
            yield send
        finally:
            portal.call(http.aclose)


@contextmanager
def _flask(guard: Guard) -> Iterator[object]:
    app = Flask(__name__)
    gate = ScopeGate(app, guard)

    @app.get("/recent")
    @requires("apps:read", max_age=300)
    def recent() -> dict[str, str]:
        return {"caller": current_caller().subject}

    @app.get("/strong")
    @requires("apps:read", acr_values=["urn:example:mfa", ACR])
    def strong() -> dict[str, str]:
        return {"caller": current_caller().subject}

    http = app.test_client()

    def send(path: str, token: str) -> httpx.Response:
        answer = http.get(path, headers={"Authorization": f"Bearer {token}"})
        return httpx.Response(answer.status_code, headers=list(answer.headers.items()),
                              content=answer.data)

    try:
        yield send
    finally:
        gate.close()


@contextmanager
def adapter(name: str, guard: Guard) -> Iterator[object]:
    if name == "flask":
        with _flask(guard) as send:
            yield send
    else:
        with _asgi(_starlette(guard) if name == "starlette" else _fastapi(guard)) as send:
            yield send


@pytest.mark.parametrize("name", ["starlette", "fastapi", "flask"])
def test_an_old_or_weak_sign_in_is_asked_to_sign_in_again(
        name: str, server: AuthServer, make_guard: MakeGuard) -> None:
    now = int(time.time())
    recent = server.mint(auth_time=now - 60, acr=ACR)
    old = server.mint(auth_time=now - 3600, acr=ACR)
    no_user = server.mint()  # no auth_time: client credentials, or an older server
    weak = server.mint(auth_time=now, acr="urn:example:remembered-device")
    with adapter(name, make_guard()) as send:
        assert send("/recent", recent).status_code == 200  # type: ignore[operator]
        assert send("/strong", recent).status_code == 200  # type: ignore[operator]
        refused = send("/recent", old)  # type: ignore[operator]
        nobody = send("/recent", no_user)  # type: ignore[operator]
        too_weak = send("/strong", weak)  # type: ignore[operator]
    assert refused.status_code == nobody.status_code == too_weak.status_code == 401
    header = refused.headers["www-authenticate"]
    assert header.startswith('Bearer realm="scopegate", error="insufficient_user_authentication"'
                             ', error_description="this needs a sign-in within the last 300 '
                             'seconds", max_age="300"')
    assert refused.json()["error"] == "insufficient_user_authentication"
    assert user_authentication(refused) == AuthDemand(300, ())
    assert user_authentication(nobody) == AuthDemand(300, ())
    assert 'acr_values="urn:example:mfa urn:scopegate:acr:password"' in \
        too_weak.headers["www-authenticate"]
    assert user_authentication(too_weak) == AuthDemand(None, ("urn:example:mfa", ACR))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"max_age": -1}, "max_age"), ({"max_age": "300"}, "max_age"),
    ({"max_age": True}, "max_age"), ({"acr_values": ["a b"]}, "acr"),
    ({"acr_values": [""]}, "acr"),
])
def test_a_bad_declaration_fails_at_import(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        requires("apps:read", **kwargs)  # type: ignore[arg-type]
