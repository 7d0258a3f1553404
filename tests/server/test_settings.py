"""Settings: documented defaults, SCOPEGATE_* variables, overrides, clear errors."""

from __future__ import annotations

import pytest

from scopegate.server.settings import Settings


def test_defaults() -> None:
    s = Settings.from_env(env={}, database_url="sqlite:///x.db")
    assert (s.host, s.port, s.issuer) == ("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert s.access_token_ttl == 3600 and s.refresh_token_ttl == 30 * 86400
    assert s.signing_alg == "ES256" and s.max_body_bytes == 16384
    assert s.features.client_credentials and s.features.introspection


def test_default_database_is_a_sqlite_file_in_the_user_data_dir(
        monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = Settings.from_env(env={})
    assert s.database_url == f"sqlite:///{tmp_path}/scopegate/scopegate.db"


def test_environment_then_overrides() -> None:
    env = {"SCOPEGATE_PORT": "9000", "SCOPEGATE_HOST": "0.0.0.0",
           "SCOPEGATE_ACCESS_TOKEN_TTL": "60", "SCOPEGATE_FEATURE_METRICS": "off",
           "SCOPEGATE_DATABASE_URL": "sqlite:///e.db"}
    s = Settings.from_env(env=env, port=9100, issuer=None)
    assert s.port == 9100 and s.host == "0.0.0.0" and s.access_token_ttl == 60
    assert s.issuer == "http://0.0.0.0:9100"
    assert s.features.metrics is False
    assert Settings.from_env(env=s.to_env()) == s


@pytest.mark.parametrize(("env", "message"), [
    ({"SCOPEGATE_PORT": "eighty"}, "SCOPEGATE_PORT must be a number"),
    ({"SCOPEGATE_PORT": "70000"}, "port must be between"),
    ({"SCOPEGATE_SIGNING_ALG": "HS256"}, "signing_alg"),
    ({"SCOPEGATE_FEATURE_METRICS": "maybe"}, "on or off"),
    ({"SCOPEGATE_ACCESS_TOKEN_TTL": "0"}, "positive"),
])
def test_bad_values_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env={**env, "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})


def test_session_lifetimes_default_to_30_minutes_idle_and_12_hours_in_all() -> None:
    s = Settings.from_env(env={}, database_url="sqlite:///x.db")
    assert (s.session_idle_ttl, s.session_absolute_ttl) == (1800, 43200)
    env = {"SCOPEGATE_SESSION_IDLE_TTL": "600", "SCOPEGATE_SESSION_ABSOLUTE_TTL": "3600"}
    s = Settings.from_env(env=env, database_url="sqlite:///x.db")
    assert (s.session_idle_ttl, s.session_absolute_ttl) == (600, 3600)
    assert Settings.from_env(env=s.to_env()) == s


@pytest.mark.parametrize(("env", "message"), [
    ({"SCOPEGATE_SESSION_IDLE_TTL": "0"}, "session_idle_ttl must be between 1 and"),
    ({"SCOPEGATE_SESSION_ABSOLUTE_TTL": "-5"}, "session_absolute_ttl must be between 1"),
    ({"SCOPEGATE_SESSION_ABSOLUTE_TTL": "99999999999"}, "session_absolute_ttl must be"),
    ({"SCOPEGATE_SESSION_IDLE_TTL": "50000"}, "must not exceed session_absolute_ttl"),
    ({"SCOPEGATE_SESSION_IDLE_TTL": "half an hour"}, "SCOPEGATE_SESSION_IDLE_TTL must be a"),
])
def test_bad_session_lifetimes_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env={**env, "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})
