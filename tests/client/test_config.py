"""Configuration files and scope precedence: explicit > environment > credentials > defaults."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend

from scopegate.client import ConfigError, session_from_env
from scopegate.client._cache import TokenCache
from scopegate.client._config import (
    ScopeSource,
    load_environment,
    load_environments,
    resolve_scopes,
)
from scopegate.client._config_files import load_credentials

from .conftest import ISSUER, FakeIssuer

EXPLICIT = ["apps:read"]
ENV_SCOPES = ["api", "keys:read"]
CRED_SCOPES = ["api", "apps:write"]


def write_config(
    directory: Path, *, env_scopes: list[str] | None, cred_scopes: list[str] | None
) -> None:
    entry: dict[str, object] = {
        "issuer": ISSUER,
        "api_base_url": "https://api.example.test",
        "credentials": "creds.json",
    }
    if env_scopes is not None:
        entry["scopes"] = env_scopes
    creds: dict[str, object] = {"clientId": "svc", "clientSecret": "s3cret"}
    if cred_scopes is not None:
        creds["scopes"] = cred_scopes
    (directory / "environments.json").write_text(json.dumps({"environments": {"prod": entry}}))
    (directory / "creds.json").write_text(json.dumps(creds))


CASES = list(itertools.product([True, False], repeat=3))


@pytest.mark.parametrize(("explicit", "env", "cred"), CASES)
def test_precedence_every_combination(
    tmp_path: Path, explicit: bool, env: bool, cred: bool
) -> None:
    write_config(
        tmp_path, env_scopes=ENV_SCOPES if env else None, cred_scopes=CRED_SCOPES if cred else None
    )
    fake = FakeIssuer()
    session = session_from_env(
        "prod", scopes=EXPLICIT if explicit else None, config=tmp_path, cache=TokenCache()
    )
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        token = session.get_token(http=http)
    if explicit:
        expected, source = EXPLICIT, ScopeSource.EXPLICIT
    elif env:
        expected, source = ENV_SCOPES, ScopeSource.ENVIRONMENT
    elif cred:
        expected, source = CRED_SCOPES, ScopeSource.CREDENTIALS
    else:
        expected, source = ["api"], ScopeSource.DEFAULT
    assert session.scope_choice.source is source
    assert fake.requested == [" ".join(sorted(expected))]
    assert token.scopes == frozenset(expected)


def test_read_only_environment_never_reuses_a_write_token(tmp_path: Path) -> None:
    write_config(tmp_path, env_scopes=["apps:read"], cred_scopes=["apps:read", "apps:write"])
    cache, fake = TokenCache(), FakeIssuer()
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        writer = session_from_env(
            "prod", scopes=["apps:read", "apps:write"], config=tmp_path, cache=cache
        )
        writer.get_token(http=http)
        reader = session_from_env("prod", config=tmp_path, cache=cache)
        token = reader.get_token(http=http)
    assert token.scopes == {"apps:read"}
    assert fake.requested == ["apps:read apps:write", "apps:read"]


def test_explicit_empty_scope_list_is_an_error_not_a_fallback() -> None:
    with pytest.raises(ConfigError, match="empty"):
        resolve_scopes([], None, None, ["api"])


def test_invalid_scope_token_is_rejected() -> None:
    with pytest.raises(ConfigError, match="invalid scope"):
        resolve_scopes(["bad scope\n"], None, None, ["api"])


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "environments.json"
    file.write_text('{"environments": {')
    with pytest.raises(ConfigError) as info:
        load_environments(file)
    assert str(file) in str(info.value)
    assert "not valid JSON (line 1" in str(info.value)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({}, "'issuer' must be a non-empty string"),
        ({"issuer": ISSUER, "scopes": "api"}, "'scopes' must be a non-empty list"),
        ({"issuer": ISSUER, "scopes": []}, "'scopes' must be a non-empty list"),
        ({"issuer": ISSUER, "client_id": 5}, "'client_id' must be a non-empty string"),
    ],
)
def test_bad_fields_name_file_environment_and_field(
    tmp_path: Path, entry: dict[str, object], problem: str
) -> None:
    file = tmp_path / "environments.json"
    file.write_text(json.dumps({"environments": {"prod": entry}}))
    with pytest.raises(ConfigError) as info:
        load_environments(file)
    assert f"{file}: environment 'prod': {problem}" in str(info.value)


def test_scopegate_env_selects_and_config_dir_env_locates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"environments": {"a": {"issuer": "https://a"}, "b": {"issuer": "https://b/"}}}
    (tmp_path / "environments.json").write_text(json.dumps(body))
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("SCOPEGATE_ENV", "b")
    assert load_environment().issuer == "https://b"
    monkeypatch.delenv("SCOPEGATE_ENV")
    with pytest.raises(ConfigError, match="choose an environment"):
        load_environment()
    with pytest.raises(ConfigError, match="no environment named 'c'"):
        load_environment("c")


def test_credentials_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text(json.dumps({"clientId": "x"}))
    with pytest.raises(ConfigError, match="'clientSecret' must be a non-empty string"):
        load_credentials(base_dir=tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_credentials("missing.json", base_dir=tmp_path)


class DictKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.data.pop((service, username), None)


def test_keyring_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = DictKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        backend.set_password(
            "scopegate",
            "prod",
            json.dumps({"clientId": "svc", "clientSecret": "x", "scopes": ["api"]}),
        )
        creds = load_credentials("keyring://prod")
        assert (creds.client_id, creds.scopes) == ("svc", ("api",))
        assert "x" not in repr(creds)
        with pytest.raises(ConfigError, match="no such entry"):
            load_credentials("keyring://other")
    finally:
        keyring.set_keyring(previous)
