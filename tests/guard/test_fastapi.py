"""FastAPI: the RequireScopes dependency, OpenAPI text from the catalog, middleware together."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI

from scopegate.guard import AccountCaller, Caller, Guard, RateLimit
from scopegate.guard.adapters.fastapi import RequireScopes, install
from scopegate.guard.adapters.starlette import GuardMiddleware

from .authserver import AuthServer
from .conftest import CountingLimiter, MakeGuard, contexts_left_in_cycles

pytestmark = pytest.mark.anyio


def build(guard: Guard, *, middleware: bool = False) -> FastAPI:
    app = FastAPI()
    install(app, guard)
    if middleware:
        app.add_middleware(GuardMiddleware, guard=guard)

    @app.get("/apps")
    async def list_apps(caller: Caller = Depends(RequireScopes("apps:read"))) -> dict[str, str]:
        return {"caller": caller.subject, "kind": type(caller).__name__}

    @app.post("/apps/{app_id}/run")
    async def run_app(app_id: str, body: dict[str, object],
                      caller: Caller = Depends(RequireScopes("apps:run"))) -> dict[str, object]:
        return {"ran_as": caller.subject, "app": app_id}

    @app.get("/tight")
    async def tight(caller: Caller = Depends(RequireScopes("apps:read",
                                                           rate=RateLimit(1, 60)))) -> str:
        return "ok"

    @app.get("/forgotten")
    async def forgotten() -> str:
        return "secret"

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_dependency_returns_typed_caller(server: AuthServer, make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        response = await http.get("/apps", headers=bearer(server.mint(sub="ann")))
    assert response.json() == {"caller": "ann", "kind": AccountCaller.__name__}


async def test_answers_have_rfc_shapes(server: AuthServer, make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        missing = await http.get("/apps")
        scope = await http.post("/apps/a1/run", headers=bearer(server.mint()), json={})
        token = bearer(server.mint())
        await http.get("/tight", headers=token)
        limited = await http.get("/tight", headers=token)
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm="scopegate"')
    assert scope.status_code == 403 and scope.json()["scope"] == "apps:run"
    assert ', scope="apps:run"' in scope.headers["WWW-Authenticate"]
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert limited.headers["Retry-After"].isdigit()


async def test_body_user_is_ignored(server: AuthServer, make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        response = await http.post("/apps/a1/run", headers=bearer(server.mint(scope="apps:run")),
                                   json={"user": "mallory"})
    assert response.json() == {"ran_as": "user-1", "app": "a1"}


async def test_openapi_lists_scheme_and_route_scopes(make_guard: MakeGuard) -> None:
    async with client(build(make_guard())) as http:
        spec = (await http.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["scopegate"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["scopes"]["apps:read"] == "List and read apps"  # text from the catalog
    assert "admin:users" not in flow["scopes"]  # internal scopes stay out of the docs
    assert spec["paths"]["/apps"]["get"]["security"] == [{"scopegate": ["apps:read"]}]


async def test_with_middleware_undeclared_is_denied_and_limit_fires_once(
        server: AuthServer, make_guard: MakeGuard, limiter: CountingLimiter) -> None:
    async with client(build(make_guard(), middleware=True)) as http:
        token = bearer(server.mint(scope="scopegate:all"))
        forgotten = await http.get("/forgotten", headers=token)
        docs = await http.get("/openapi.json")
        ok = await http.get("/apps", headers=token)
    assert forgotten.status_code == 403
    assert docs.status_code == 200  # FastAPI's own docs are public
    assert ok.status_code == 200
    assert limiter.token_hits() == 1  # middleware and dependency share one authentication


async def test_dependency_alone_fires_limit_once(server: AuthServer, make_guard: MakeGuard,
                                                 limiter: CountingLimiter) -> None:
    async with client(build(make_guard())) as http:
        await http.get("/apps", headers=bearer(server.mint()))
    assert limiter.token_hits() == 1


async def test_without_install_errors_are_still_not_500(server: AuthServer,
                                                        make_guard: MakeGuard) -> None:
    guard = make_guard()
    app = FastAPI()

    @app.get("/apps")
    async def list_apps(caller: Caller = Depends(RequireScopes("apps:read", guard=guard))) -> str:
        return caller.subject

    async with client(app) as http:
        response = await http.get("/apps")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("middleware", [False, True])
async def test_a_guarded_request_leaves_no_reference_cycle(
        server: AuthServer, make_guard: MakeGuard, middleware: bool) -> None:
    # The guard context points at the request and the scope at the context: unless the
    # link is dropped when the request ends, every request becomes garbage-collector work.
    app = build(make_guard(), middleware=middleware)
    async with client(app) as http:
        token = bearer(server.mint())
        await http.get("/apps", headers=token)  # warm the caches outside the measurement
        response, leaked = await contexts_left_in_cycles(lambda: http.get("/apps", headers=token))
    assert response.status_code == 200
    assert leaked == 0
