"""The SDK given only an API's URL, against a real guarded API on uvicorn.

The API's 401 (or its well-known metadata) leads the SDK to the issuer and the scopes;
the token is asked for that resource (RFC 8707), so the guard's audience check passes
only if ``resource`` was sent. Explicit configuration still wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from scopegate.cli import user
from scopegate.client import ApiClient, ConfigError, session_from_env
from scopegate.client._config import ScopeSource
from scopegate.guard import Guard, GuardConfig, requires
from scopegate.guard.adapters.starlette import GuardMiddleware, caller_of
from scopegate.ratelimit import MemoryRateLimiter

from .authserver import (
    SDK_CLIENT_ID,
    SDK_CLIENT_SECRET,
    AuthServer,
    ServerThread,
    free_port,
)


@requires("apps:read")
async def apps(request: Request) -> JSONResponse:
    return JSONResponse({"caller": caller_of(request).subject})


@requires("apps:run")
async def run(request: Request) -> JSONResponse:
    return JSONResponse({"ran": True})


@pytest.fixture
def api(server: AuthServer) -> Iterator[str]:
    """A guarded API under ``/api`` whose resource identifier is its real URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    guard = Guard(GuardConfig(issuer=server.issuer, audience=url), limiter=MemoryRateLimiter())
    app = Starlette(routes=[Route("/api", apps), Route("/api/apps", apps),
                            Route("/api/run", run, methods=["POST"])],
                    middleware=[Middleware(GuardMiddleware, guard=guard)])
    thread = ServerThread(app, port).start()
    yield url
    thread.stop()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir holding only client credentials: no environments.json at all."""
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    for name in ("SCOPEGATE_ENV", "SCOPEGATE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"clientId": SDK_CLIENT_ID,
                                       "clientSecret": SDK_CLIENT_SECRET}))
    credentials.chmod(0o600)
    return tmp_path


def test_the_sdk_finds_issuer_and_scopes_from_the_api_url(api: str, config: Path,
                                                          server: AuthServer) -> None:
    with ApiClient.from_env(api_url=api, config=config) as client:
        answer = client.get("/apps")  # under the API's URL: /api/apps
    assert answer.status_code == 200 and answer.json() == {"caller": SDK_CLIENT_ID}
    [form] = server.token_forms
    assert form["resource"] == api  # RFC 8707: the token is bound to this API
    assert form["scope"] == "apps:read"  # what the API's 401 named, nothing broader


def test_scopegate_api_url_alone_is_enough(api: str, config: Path, server: AuthServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOPEGATE_API_URL", api)
    session = session_from_env(config=config)
    assert session.provider.issuer == server.issuer
    assert session.scope_choice.source is ScopeSource.RESOURCE


def test_without_a_challenge_the_well_known_metadata_is_read(api: str, config: Path,
                                                             server: AuthServer) -> None:
    """``/api/run`` answers GET with 405, not a challenge: the metadata's scopes are used."""
    session = session_from_env(api_url=f"{api}/run", config=config)
    assert session.provider.issuer == server.issuer
    assert session.scopes == frozenset({"apps:read", "apps:run"})
    assert session.provider.resource == api


def test_explicit_configuration_still_wins(api: str, config: Path, server: AuthServer) -> None:
    (config / "environments.json").write_text(json.dumps({"environments": {"prod": {
        "issuer": server.issuer, "api_base_url": "http://127.0.0.1:9/unused",
        "scopes": ["apps:run"]}}}))
    session = session_from_env("prod", api_url=api, config=config)
    assert session.scopes == frozenset({"apps:run"})
    assert session.scope_choice.source is ScopeSource.ENVIRONMENT
    assert session.provider.resource is None  # no discovery: the issuer was configured
    assert session.env.api_base_url == api


def test_scopegate_login_and_token_with_only_the_api_url(
        api: str, config: Path, server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(config))
    app = typer.Typer()
    user.register(app)
    login = CliRunner().invoke(app, ["login", "--api", api])
    printed = CliRunner().invoke(app, ["token", "--api", api, "--decode"])
    assert login.exit_code == 0, login.output
    assert "with scopes: apps:read" in login.stderr
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["aud"] == api
    assert len(server.token_forms) == 1  # the token from the login was reused


def test_an_environment_may_name_only_its_api(api: str, config: Path,
                                              server: AuthServer) -> None:
    envs = config / "environments.json"
    envs.write_text(json.dumps({"environments": {"mcp": {"api_base_url": api}}}))
    session = session_from_env("mcp", config=config)
    assert session.provider.issuer == server.issuer
    assert session.provider.resource == api
    envs.write_text(json.dumps({"environments": {"mcp": {"client_id": "x"}}}))
    with pytest.raises(ConfigError, match="'issuer' must be"):  # one or the other
        session_from_env("mcp", config=config)
