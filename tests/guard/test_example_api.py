"""The example API end to end against the auth-server stand-in: scopes, membership, authz."""

from __future__ import annotations

import httpx
import pytest
from examples.example_api import build_app, parse_members

from .authserver import AuthServer
from .conftest import CountingLimiter, MakeGuard

pytestmark = pytest.mark.anyio


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": "scopegate-python/0.1.0"}


async def test_example_api_routes(server: AuthServer, make_guard: MakeGuard,
                                  limiter: CountingLimiter) -> None:
    app = build_app(make_guard(), parse_members("demo=*;other=carol"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        reader = bearer(server.mint(scope="apps:read", sub="alice"))
        runner = bearer(server.mint(scope="apps:run", sub="alice"))
        listed = await http.get("/workspaces/demo/apps", headers=reader)
        foreign = await http.get("/workspaces/other/apps", headers=reader)
        info = await http.get("/workspaces/demo/apps/hello", headers=reader)
        missing = await http.get("/workspaces/demo/apps/nope", headers=reader)
        read_only = await http.post("/workspaces/demo/apps/hello/run", headers=reader,
                                    json={})
        ran = await http.post("/workspaces/demo/apps/hello/run", headers=runner,
                              json={"inputs": {"x": "1"}, "user": "mallory"})
        frozen = await http.post("/workspaces/demo/apps/frozen/run", headers=runner, json={})
        health = await http.get("/health")
    assert listed.status_code == 200 and {a["id"] for a in listed.json()["apps"]} >= {"hello"}
    assert foreign.status_code == 403 and foreign.json()["error"] == "access_denied"
    assert info.json()["name"] == "Hello world"
    assert missing.status_code == 404
    assert read_only.status_code == 403 and read_only.json()["scope"] == "apps:run"
    assert ran.status_code == 200
    assert ran.json() == {"app": "hello", "ran_as": "alice", "caller_type": "AccountCaller",
                          "inputs": {"x": "1"}}
    assert frozen.status_code == 403
    assert health.json() == {"status": "ok"}
    assert limiter.token_hits() == 7  # one per guarded request, middleware + dependency


async def test_openapi_documents_refusals_and_a_pkce_sign_in(server: AuthServer,
                                                            make_guard: MakeGuard) -> None:
    app = build_app(make_guard(), parse_members("demo=*"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://api") as http:
        spec = (await http.get("/openapi.json")).json()
        docs = await http.get("/docs")
    run = spec["paths"]["/workspaces/{workspace}/apps/{app_id}/run"]["post"]
    assert run["security"] == [{"scopegate": ["apps:run"]}]
    for status in ("401", "403"):
        assert "WWW-Authenticate" in run["responses"][status]["headers"]
        schema = run["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/OAuthError"}
    assert spec["components"]["schemas"]["OAuthError"]["required"] == ["error"]
    assert "401" not in spec["paths"]["/health"]["get"]["responses"]  # public: never refused
    code = spec["components"]["securitySchemes"]["scopegate"]["flows"]["authorizationCode"]
    assert code["authorizationUrl"] == f"{server.issuer}/oauth/authorize"
    assert code["tokenUrl"] == f"{server.issuer}/oauth/token"
    assert code["scopes"]["apps:run"]  # a description from the catalog
    assert '"usePkceWithAuthorizationCodeGrant": true' in docs.text  # Swagger UI signs in with PKCE
