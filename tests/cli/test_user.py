"""The user CLI (login, logout, status, token) through CliRunner, HTTP on a MockTransport."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from client.conftest import API, ISSUER, FakeIssuer
from scopegate.cli import user
from scopegate.client import Token
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    user.register(app)
    return app


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIssuer:
    issuer = FakeIssuer()
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    monkeypatch.delenv("SCOPEGATE_ENV", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(
        user, "http_client_factory", lambda: httpx.Client(transport=httpx.MockTransport(issuer))
    )
    monkeypatch.setattr(user, "sleep", lambda seconds: None)
    envs = {
        "svc": {
            "issuer": ISSUER,
            "api_base_url": API,
            "credentials": "creds.json",
            "scopes": ["api", "apps:read"],
        },
        "prod": {"issuer": ISSUER, "api_base_url": API, "client_id": "cli-app"},
    }
    (tmp_path / "environments.json").write_text(json.dumps({"environments": envs}))
    (tmp_path / "creds.json").write_text(json.dumps({"clientId": "svc", "clientSecret": "s"}))
    (tmp_path / "creds.json").chmod(0o600)  # as a secret should be (else a warning)
    return issuer


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(make_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def seed_user_token(directory: Path, scopes: set[str], sub: str = "user-1") -> None:
    token = Token(
        access_token=f"opaque-{sub}",
        issuer=ISSUER,
        client_id="cli-app",
        scopes=frozenset(scopes),
        subject=sub,
        expires_at=time.time() + 3600,
        refresh_token="r",
    )
    TokenCache(FileTokenStore(directory / "tokens.json")).save(token)


def test_login_status_token_logout_with_client_credentials(fake: FakeIssuer) -> None:
    code, _, err = invoke("login", "--env", "svc")
    assert code == 0, err
    assert "with scopes: api apps:read" in err
    code, out, _ = invoke("status", "--env", "svc", "--json")
    status = json.loads(out)
    assert code == 0 and status["logged_in"]
    (row,) = status["tokens"]
    assert row["scopes"] == ["api", "apps:read"]
    assert row["audience"] == [API]
    assert row["valid"] is True
    code, out, _ = invoke("token", "--env", "svc", "--decode")
    assert code == 0 and json.loads(out)["scope"] == "api apps:read"
    assert fake.token_hits == 1  # status and token reuse the stored token
    code, _, err = invoke("logout", "--env", "svc")
    assert code == 0 and "1 token(s) removed" in err
    code, out, _ = invoke("status", "--env", "svc")
    assert code == 1 and "Not logged in to svc" in out


def test_explicit_scope_narrows_a_client_credentials_token(fake: FakeIssuer) -> None:
    code, out, err = invoke("token", "--env", "svc", "--scope", "apps:read")
    assert code == 0, err
    assert fake.requested == ["apps:read"]
    assert out.count(".") == 2  # a JWT was printed


@pytest.mark.parametrize(
    "args",
    [["--scope"], ["--scope", ""], ["--scope", " "], ["--scope", "--device"], ["--scope", 'a"b']],
)
def test_bare_empty_or_bad_scope_is_a_usage_error(fake: FakeIssuer, args: list[str]) -> None:
    code, _, _ = invoke("login", "--env", "svc", *args)
    assert code == 2
    assert fake.token_hits == 0


def test_missing_scopes_without_a_tty_exit_4_with_a_login_hint(
    fake: FakeIssuer, tmp_path: Path
) -> None:
    seed_user_token(tmp_path, {"openid", "api"})
    code, out, err = invoke(
        "token", "--env", "prod", "--scope", "keys:read", "--scope", "apps:write"
    )
    assert code == 4
    assert out == ""
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "apps:write, keys:read" in line
    assert "scopegate login --env prod --scope apps:write --scope keys:read" in " ".join(
        line.split()
    )


def test_not_logged_in_is_exit_1_with_a_hint(fake: FakeIssuer) -> None:
    code, _, err = invoke("token", "--env", "prod")
    assert code == 1
    assert "scopegate login --env prod" in err


def test_bad_config_is_exit_2_naming_the_file(fake: FakeIssuer, tmp_path: Path) -> None:
    (tmp_path / "environments.json").write_text("{nope")
    code, _, err = invoke("status", "--env", "prod")
    assert code == 2
    assert f"{tmp_path / 'environments.json'}: environments file is not valid JSON" in err
    assert err.count("\n") == 1


def test_device_login_requests_defaults_and_extra_scopes(fake: FakeIssuer) -> None:
    fake.device_answers = ["authorization_pending", "ok"]
    code, _, err = invoke("login", "--env", "prod", "--device", "--scope", "keys:read")
    assert code == 0, err
    assert fake.device_scope == "api email keys:read offline_access openid profile"
    code, out, _ = invoke("status", "--env", "prod", "--json")
    assert json.loads(out)["tokens"][0]["subject"] == "user-1"


def test_device_login_denied_is_one_line_exit_1(fake: FakeIssuer) -> None:
    fake.device_answers = ["access_denied"]
    code, _, err = invoke("login", "--env", "prod", "--device")
    assert code == 1
    assert "denied" in err and "Traceback" not in err


def test_help_documents_exit_codes(fake: FakeIssuer) -> None:
    for command in ("login", "logout", "status", "token"):
        code, out, _ = invoke(command, "--help")
        assert code == 0
        assert "4 step-up" in " ".join(out.split())


def test_keyring_fallback_is_announced_once_as_one_line(
    fake: FakeIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring

    import scopegate.client._stores as cache_module

    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "0")
    monkeypatch.setattr(cache_module, "_announced", False)
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        code, _, err = invoke("login", "--env", "svc")
    finally:
        keyring.set_keyring(previous)
    assert code == 0, err
    lines = [line for line in err.splitlines() if "keyring" in line]
    assert len(lines) == 1
    assert lines[0].startswith("warning: OS keyring unavailable")
    assert "(mode 0600)" in lines[0]


def test_token_checks_the_cached_token_against_the_configured_scopes(
    fake: FakeIssuer, tmp_path: Path
) -> None:
    """The environment now asks for apps:read; a cached token without it is not handed out."""
    seed_user_token(tmp_path, {"openid", "api"})
    envs = json.loads((tmp_path / "environments.json").read_text())
    envs["environments"]["prod"]["scopes"] = ["openid", "offline_access", "api", "apps:read"]
    (tmp_path / "environments.json").write_text(json.dumps(envs))
    code, out, err = invoke("token", "--env", "prod")
    assert (code, out) == (4, "")
    assert "apps:read" in err and "scopegate login --env prod" in err
    # A client-credentials environment gets a token that carries them, silently.
    TokenCache(FileTokenStore(tmp_path / "tokens.json")).save(Token(
        access_token="opaque-narrow", issuer=ISSUER, client_id="svc",
        scopes=frozenset({"api"}), expires_at=time.time() + 3600))
    code, out, err = invoke("token", "--env", "svc", "--decode")
    assert code == 0, err
    assert json.loads(out)["scope"] == "api apps:read"
