"""The user CLI against a real loopback authorization server that misbehaves."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from client.loopback import LoopbackIssuer, LoopbackServer, hang
from scopegate.cli import user
from scopegate.client import Token
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore

pytestmark = pytest.mark.timeout(30)
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    user.register(app)
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    for name in ("SCOPEGATE_ENV", "CI", "SCOPEGATE_INSECURE_HTTP", "SCOPEGATE_HTTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    # A generous client timeout: the SDK's own deadline (SCOPEGATE_HTTP_TIMEOUT) must win.
    monkeypatch.setattr(user, "http_client_factory", lambda: httpx.Client(timeout=60))
    with LoopbackServer() as running:
        configure(tmp_path, running.url)
        yield running


def configure(directory: Path, issuer: str) -> None:
    envs = {"svc": {"issuer": issuer, "api_base_url": issuer, "credentials": "creds.json"}}
    (directory / "environments.json").write_text(json.dumps({"environments": envs}))
    (directory / "creds.json").write_text(json.dumps({"clientId": "svc", "clientSecret": "s"}))


def test_a_cleartext_issuer_is_a_one_line_config_error(
    server: LoopbackServer, tmp_path: Path
) -> None:
    configure(tmp_path, "http://auth.example.com")
    for command in ("token", "status", "login"):
        code, out, err = invoke(command, "--env", "svc")
        assert code == 2, err
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err
        assert "issuer 'http://auth.example.com'" in err and "https://" in err


@pytest.mark.parametrize("expires_in", ["1" + "0" * 400, "1e999", "1000000000000", "-100"])
def test_token_and_status_survive_an_absurd_expires_in(
    server: LoopbackServer, expires_in: str
) -> None:
    LoopbackIssuer(server, expires_in=expires_in)
    code, out, err = invoke("token", "--env", "svc")
    assert code == 0, err
    assert out.startswith("opaque-")
    code, out, err = invoke("status", "--env", "svc", "--json")
    assert code == 0, err
    (row,) = json.loads(out)["tokens"]
    assert row["valid"] is False  # short-lived: the next command asks again
    assert row["expires_at"] is not None


def test_status_survives_a_stored_infinite_expiry(server: LoopbackServer, tmp_path: Path) -> None:
    token = Token(access_token="a", issuer=server.url, client_id="svc",
                  scopes=frozenset({"api"}), expires_at=float("inf"))
    TokenCache(FileTokenStore(tmp_path / "tokens.json")).save(token)
    code, out, err = invoke("status", "--env", "svc")
    assert code == 0, err
    assert "expired" in out


def test_a_token_endpoint_that_never_answers_ends_in_time(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    LoopbackIssuer(server)
    server.routes["/oauth/token"] = lambda seen: hang(server)
    monkeypatch.setenv("SCOPEGATE_HTTP_TIMEOUT", "1")
    start = time.monotonic()
    code, _, err = invoke("token", "--env", "svc")
    assert time.monotonic() - start < 5
    assert code == 1
    assert "cannot reach" in err and "Traceback" not in err
