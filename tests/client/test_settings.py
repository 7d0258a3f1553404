"""Settings are checked when they are loaded: cleartext issuers, typos, bad env values.

Each problem is one ConfigError line naming the setting (the CLI prints it, exit 2).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from scopegate.client import ClientCredentialsProvider, ConfigError, session_from_env
from scopegate.client._config import load_environments

PUBLIC_HTTP = "http://auth.example.com"


def write_envs(directory: Path, **entry: object) -> Path:
    file = directory / "environments.json"
    body = {"environments": {"prod": {"issuer": "https://auth.example.com", **entry}}}
    file.write_text(json.dumps(body))
    (directory / "creds.json").write_text(json.dumps({"clientId": "svc", "clientSecret": "s"}))
    return file


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCOPEGATE_INSECURE_HTTP", "SCOPEGATE_NO_KEYRING", "SCOPEGATE_HTTP_TIMEOUT",
                 "SCOPEGATE_ENV", "SCOPEGATE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("setting", ["issuer", "api_base_url"])
def test_a_cleartext_url_on_a_public_host_is_refused_at_load(tmp_path: Path, setting: str) -> None:
    file = write_envs(tmp_path, **{setting: PUBLIC_HTTP})
    with pytest.raises(ConfigError) as info:
        load_environments(file)
    message = str(info.value)
    assert f"environment 'prod': {setting} '{PUBLIC_HTTP}'" in message
    assert "https://" in message and "SCOPEGATE_INSECURE_HTTP=1" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:9000/", "http://[::1]:8080", "http://127.9.9.9"]
)
def test_plain_http_to_this_machine_is_allowed(tmp_path: Path, url: str) -> None:
    envs = load_environments(write_envs(tmp_path, issuer=url, api_base_url=url))
    assert envs["prod"].issuer == url.rstrip("/")


def test_the_test_only_opt_out_is_loud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SCOPEGATE_INSECURE_HTTP", "1")
    with caplog.at_level(logging.WARNING, logger="scopegate.client"):
        envs = load_environments(write_envs(tmp_path, issuer=PUBLIC_HTTP))
    assert envs["prod"].issuer == PUBLIC_HTTP
    assert any("CLEAR TEXT" in r.getMessage() and PUBLIC_HTTP in r.getMessage()
               for r in caplog.records)


def test_a_provider_refuses_a_cleartext_issuer_unless_told() -> None:
    with pytest.raises(ConfigError, match="clear text"):
        ClientCredentialsProvider(PUBLIC_HTTP, "svc", "secret")
    provider = ClientCredentialsProvider(PUBLIC_HTTP, "svc", "secret", allow_insecure_http=True)
    assert provider.issuer == PUBLIC_HTTP


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"scope": ["api"]}, "unknown setting 'scope'"),
        ({"isuer": "https://x"}, "unknown setting 'isuer'"),
        ({"issuer": "auth.example.com"}, "issuer 'auth.example.com': must be an absolute https"),
        ({"issuer": "ftp://auth.example.com"}, "issuer 'ftp://auth.example.com'"),
        ({"issuer": "https://user:pw@auth.example.com"}, "must not carry a user"),
        ({"api_base_url": "https://api.example.com#x"}, "must not carry a user, password or #"),
    ],
)
def test_environment_entries_are_validated(
    tmp_path: Path, entry: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as info:
        load_environments(write_envs(tmp_path, **entry))
    assert "environment 'prod'" in str(info.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SCOPEGATE_NO_KEYRING", "maybe"),
        ("SCOPEGATE_INSECURE_HTTP", "please"),
        ("SCOPEGATE_HTTP_TIMEOUT", "soon"),
        ("SCOPEGATE_HTTP_TIMEOUT", "0"),
        ("SCOPEGATE_HTTP_TIMEOUT", "inf"),
        ("SCOPEGATE_ENV", "nope"),
    ],
)
def test_bad_environment_variables_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    write_envs(tmp_path, credentials="creds.json")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable) as info:
        session_from_env(config=tmp_path)
    assert value in str(info.value)


def test_a_config_dir_that_is_a_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(not_a_dir))
    with pytest.raises(ConfigError, match=r"SCOPEGATE_CONFIG_DIR.*not a directory"):
        session_from_env()


def test_good_settings_reach_the_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_envs(tmp_path, credentials="creds.json")
    monkeypatch.setenv("SCOPEGATE_HTTP_TIMEOUT", "2.5")
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "true")
    session = session_from_env(config=tmp_path)
    assert session.provider.http_timeout == 2.5
