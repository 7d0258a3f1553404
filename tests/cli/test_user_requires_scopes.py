"""@requires_scopes on a real Typer command: options still parse, step-up happens first."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from client.conftest import API, ISSUER, FakeIssuer
from scopegate.client import (
    ScopeStepUpRequired,
    Token,
    TokenSession,
    requires_scopes,
    session_from_env,
)
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore


def build_app(fake: FakeIssuer, interactive: bool, calls: list[str]) -> typer.Typer:
    app = typer.Typer()

    def session_for(kwargs: dict[str, Any]) -> TokenSession:
        session = session_from_env(kwargs["env"], interactive=interactive)
        transport = httpx.MockTransport(fake)
        original = session.get_token

        def get_token(required: Any = (), **_: Any) -> Token:
            with httpx.Client(transport=transport) as http:
                return original(required, http=http)

        session.get_token = get_token  # type: ignore[method-assign]
        return session

    @app.command()
    @requires_scopes("keys:read", session=session_for)
    def keys(env: Annotated[str, typer.Option("--env")], limit: int = 3) -> None:
        calls.append(f"{env}:{limit}")

    @app.command()
    def other() -> None:
        calls.append("other")

    return app


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    envs = {"prod": {"issuer": ISSUER, "api_base_url": API, "client_id": "cli-app"}}
    (tmp_path / "environments.json").write_text(json.dumps({"environments": envs}))
    token = Token(
        access_token="opaque-old",
        issuer=ISSUER,
        client_id="cli-app",
        scopes=frozenset({"openid", "api"}),
        subject="user-1",
        expires_at=time.time() + 3600,
    )
    TokenCache(FileTokenStore(tmp_path / "tokens.json")).save(token)
    return tmp_path


def test_declared_scopes_missing_without_a_tty_stop_the_command(config: Path) -> None:
    calls: list[str] = []
    result = CliRunner().invoke(
        build_app(FakeIssuer(), False, calls), ["keys", "--env", "prod", "--limit", "7"]
    )
    assert isinstance(result.exception, ScopeStepUpRequired)
    assert result.exception.hint == "scopegate login --env prod --scope keys:read"
    assert calls == []


def test_declared_scopes_already_granted_run_the_command(config: Path) -> None:
    TokenCache(FileTokenStore(config / "tokens.json")).save(
        Token(
            access_token="opaque-wide",
            issuer=ISSUER,
            client_id="cli-app",
            scopes=frozenset({"openid", "api", "keys:read"}),
            subject="user-1",
            expires_at=time.time() + 3600,
        )
    )
    calls: list[str] = []
    fake = FakeIssuer()
    result = CliRunner().invoke(
        build_app(fake, False, calls), ["keys", "--env", "prod", "--limit", "7"]
    )
    assert result.exit_code == 0, result.output
    assert calls == ["prod:7"]
    assert fake.token_hits == 0
