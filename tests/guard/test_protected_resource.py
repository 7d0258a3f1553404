"""RFC 9728 through every adapter: the metadata a client finds with only the API's URL,
and the challenges that point to it (MCP 2025-11-25 authorization, scope selection)."""

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

from scopegate.client._challenges import parse_challenges
from scopegate.config_checks import ConfigError
from scopegate.guard import Caller, Guard, GuardConfig, public, requires
from scopegate.guard.adapters.fastapi import RequireScopes, install
from scopegate.guard.adapters.flask import ScopeGate
from scopegate.guard.adapters.starlette import GuardMiddleware
from scopegate.guard.protected_resource import metadata_url

from .authserver import AUDIENCE, AuthServer
from .conftest import MakeGuard

ADAPTERS = ["starlette", "fastapi", "flask"]
WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    text: str

    def json(self) -> object:
        import json
        return json.loads(self.text)


Send = Callable[..., Answer]


def _starlette(guard: Guard) -> Starlette:
    @requires("apps:read")
    async def apps(request: Request) -> JSONResponse:
        return JSONResponse({})

    @requires("apps:run")
    async def run(request: Request) -> JSONResponse:
        return JSONResponse({})

    @public
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({})

    return Starlette(routes=[Route("/apps", apps), Route("/run", run, methods=["POST"]),
                             Route("/health", health)],
                     middleware=[Middleware(GuardMiddleware, guard=guard)])


def _fastapi(guard: Guard) -> FastAPI:
    app = FastAPI()
    install(app, guard)

    @app.get("/apps")
    async def apps(caller: Caller = Depends(RequireScopes("apps:read"))) -> dict[str, str]:
        return {}

    @app.post("/run")
    async def run(caller: Caller = Depends(RequireScopes("apps:run"))) -> dict[str, str]:
        return {}

    return app


def _flask(guard: Guard) -> tuple[Flask, ScopeGate]:
    app = Flask(__name__)
    gate = ScopeGate(app, guard)

    @app.get("/apps")
    @requires("apps:read")
    def apps() -> dict[str, str]:
        return {}

    @app.post("/run")
    @requires("apps:run")
    def run() -> dict[str, str]:
        return {}

    return app, gate


@contextmanager
def adapter(name: str, guard: Guard) -> Iterator[Send]:
    """Send ``(method, path, headers)`` to the adapter's app; one event loop throughout."""
    if name == "flask":
        app, gate = _flask(guard)
        http = app.test_client()

        def send_flask(method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
            response = http.open(path, method=method, headers=headers or {})
            return Answer(response.status_code, httpx.Headers(list(response.headers.items())),
                          response.get_data(as_text=True))

        try:
            yield send_flask
        finally:
            gate.close()
        return
    asgi = _starlette(guard) if name == "starlette" else _fastapi(guard)
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://api")

        def send(method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
            response = portal.call(lambda: client.request(method, path, headers=headers))
            return Answer(response.status_code, response.headers, response.text)

        try:
            yield send
        finally:
            portal.call(client.aclose)


def bearer_params(answer: Answer) -> dict[str, str]:
    challenges = parse_challenges(answer.headers.get_list("WWW-Authenticate"))
    assert [scheme for scheme, _ in challenges] == ["bearer"]
    return challenges[0][1]


@pytest.mark.parametrize("name", ADAPTERS)
def test_metadata_is_served_without_a_token(name: str, make_guard: MakeGuard,
                                            server: AuthServer) -> None:
    guard = make_guard(resource_name="Example API",
                       resource_documentation="https://docs.scopegate.example/api")
    with adapter(name, guard) as send:
        answer = send("GET", WELL_KNOWN)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.json() == {
        "resource": AUDIENCE,
        "authorization_servers": [server.issuer],
        "scopes_supported": ["apps:read", "apps:run"],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA", "RS256", "PS256"],
        "resource_name": "Example API",
        "resource_documentation": "https://docs.scopegate.example/api",
    }


@pytest.mark.parametrize("name", ADAPTERS)
def test_an_api_under_a_path_publishes_at_the_suffixed_url(name: str,
                                                           make_guard: MakeGuard) -> None:
    guard = make_guard(audience="https://api.scopegate.example/mcp")
    with adapter(name, guard) as send:
        suffixed = send("GET", f"{WELL_KNOWN}/mcp")
        root = send("GET", WELL_KNOWN)
        other = send("GET", f"{WELL_KNOWN}/other")
        preflight = send("OPTIONS", f"{WELL_KNOWN}/mcp",
                         {"Origin": "https://inspector.example",
                          "Access-Control-Request-Method": "GET"})
        unchallenged = send("GET", "/apps")
    assert suffixed.status == 200
    assert suffixed.json()["resource"] == "https://api.scopegate.example/mcp"  # type: ignore[index]
    assert root.json() == suffixed.json()
    assert other.status == 404
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert bearer_params(unchallenged)["resource_metadata"] == (
        f"https://api.scopegate.example{WELL_KNOWN}/mcp")


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_challenge_points_at_the_metadata_and_names_the_scopes(
        name: str, make_guard: MakeGuard, server: AuthServer) -> None:
    reader = {"Authorization": f"Bearer {server.mint(scope='apps:read')}"}
    with adapter(name, make_guard()) as send:
        missing = send("GET", "/apps")
        junk = send("GET", "/apps", {"Authorization": "Bearer junk"})
        too_narrow = send("POST", "/run", reader)
    url = f"{AUDIENCE}{WELL_KNOWN}"
    assert missing.status == 401
    assert bearer_params(missing) == {"realm": "scopegate", "resource_metadata": url,
                                      "scope": "apps:read"}  # still no error code (§3.1)
    assert junk.status == 401
    assert bearer_params(junk)["error"] == "invalid_token"
    assert bearer_params(junk)["resource_metadata"] == url
    assert bearer_params(junk)["scope"] == "apps:read"
    assert too_narrow.status == 403
    assert bearer_params(too_narrow)["error"] == "insufficient_scope"
    assert bearer_params(too_narrow)["scope"] == "apps:run"
    assert bearer_params(too_narrow)["resource_metadata"] == url


@pytest.mark.parametrize("name", ADAPTERS)
def test_a_non_url_audience_publishes_nothing(name: str, make_guard: MakeGuard) -> None:
    with adapter(name, make_guard(audience="urn:scopegate:api")) as send:
        metadata = send("GET", WELL_KNOWN)
        missing = send("GET", "/apps")
    assert metadata.status == 404
    assert "resource_metadata" not in bearer_params(missing)


def test_metadata_url_inserts_the_well_known_part_after_the_host() -> None:
    assert metadata_url("https://api.example") == f"https://api.example{WELL_KNOWN}"
    assert metadata_url("https://api.example/") == f"https://api.example{WELL_KNOWN}"
    assert metadata_url("https://api.example:8443/v1/mcp/") == (
        f"https://api.example:8443{WELL_KNOWN}/v1/mcp")
    assert metadata_url("urn:example:api") is None


def test_documentation_and_name_are_checked_at_start_up(server: AuthServer) -> None:
    with pytest.raises(ConfigError, match="SCOPEGATE_RESOURCE_DOCUMENTATION"):
        GuardConfig(issuer=server.issuer, audience=AUDIENCE,
                    resource_documentation="javascript:alert(1)")
    with pytest.raises(ConfigError, match="SCOPEGATE_RESOURCE_NAME"):
        GuardConfig.from_env({"SCOPEGATE_ISSUER": server.issuer, "SCOPEGATE_AUDIENCE": AUDIENCE,
                              "SCOPEGATE_RESOURCE_NAME": " padded "})
    config = GuardConfig.from_env({"SCOPEGATE_ISSUER": server.issuer,
                                   "SCOPEGATE_AUDIENCE": AUDIENCE,
                                   "SCOPEGATE_RESOURCE_DOCUMENTATION": "https://docs.example"})
    assert config.resource_documentation == "https://docs.example"
