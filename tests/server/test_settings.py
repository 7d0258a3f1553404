"""Settings: documented defaults, SCOPEGATE_* variables, overrides, clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scopegate.config_checks import ConfigError
from scopegate.server.config.settings import Settings


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
    ({"SCOPEGATE_PORT": "70000"}, r"SCOPEGATE_PORT \(--port\) must be a whole number in 1..65535"),
    ({"SCOPEGATE_SIGNING_ALG": "HS256"},
     r"SCOPEGATE_SIGNING_ALG \(--signing-alg\) must be ES256 or EdDSA"),
    ({"SCOPEGATE_FEATURE_METRICS": "maybe"}, "on or off"),
    ({"SCOPEGATE_ACCESS_TOKEN_TTL": "0"},
     r"SCOPEGATE_ACCESS_TOKEN_TTL \(--access-token-ttl\) must be a whole number"),
])


def test_bad_values_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env={**env, "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})


def test_the_management_api_has_its_own_resource_identifier() -> None:
    s = Settings.from_env(env={}, database_url="sqlite:///x.db", issuer="https://id.example/")
    assert s.management_audience == "https://id.example/api/v1/"
    assert s.userinfo_audience == "https://id.example/userinfo"
    s = Settings.from_env(env={"SCOPEGATE_MANAGEMENT_AUDIENCE": "https://manage.example"},
                          database_url="sqlite:///x.db")
    assert s.management_audience == "https://manage.example"
    assert s.audience_symbols["@management"] == "https://manage.example"
    wrong = r"SCOPEGATE_MANAGEMENT_AUDIENCE \(--management-audience\) must be an absolute URI"
    with pytest.raises(ValueError, match=wrong):
        Settings.from_env(env={"SCOPEGATE_MANAGEMENT_AUDIENCE": "manage#it"},
                          database_url="sqlite:///x.db")


def test_login_throttle_and_proxy_settings_come_from_the_environment() -> None:
    defaults = Settings.from_env(env={}, database_url="sqlite:///x.db")
    assert (defaults.login_failures_per_account_address, defaults.login_failures_per_address,
            defaults.login_first_wait, defaults.login_max_wait,
            defaults.login_failure_reset) == (5, 100, 1.0, 900.0, 43200.0)
    assert defaults.forwarded_allow_ips == ""  # only the direct peer is believed
    env = {"SCOPEGATE_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS": "3",
           "SCOPEGATE_LOGIN_FAILURES_PER_ADDRESS": "40", "SCOPEGATE_LOGIN_FIRST_WAIT": "0.5",
           "SCOPEGATE_LOGIN_MAX_WAIT": "60", "SCOPEGATE_LOGIN_FAILURE_RESET": "3600",
           "SCOPEGATE_FORWARDED_ALLOW_IPS": "10.0.0.0/8, 192.0.2.7",
           "SCOPEGATE_DATABASE_URL": "sqlite:///e.db"}
    s = Settings.from_env(env=env)
    assert (s.login_failures_per_account_address, s.login_failures_per_address,
            s.login_first_wait, s.login_max_wait, s.login_failure_reset) == (3, 40, 0.5, 60.0,
                                                                             3600.0)
    assert s.forwarded_allow_ips == "10.0.0.0/8,192.0.2.7"


def test_session_lifetimes_default_to_30_minutes_idle_and_12_hours_in_all() -> None:
    s = Settings.from_env(env={}, database_url="sqlite:///x.db")
    assert (s.session_idle_ttl, s.session_absolute_ttl) == (1800, 43200)
    env = {"SCOPEGATE_SESSION_IDLE_TTL": "600", "SCOPEGATE_SESSION_ABSOLUTE_TTL": "3600"}
    s = Settings.from_env(env=env, database_url="sqlite:///x.db")
    assert (s.session_idle_ttl, s.session_absolute_ttl) == (600, 3600)
    assert Settings.from_env(env=s.to_env()) == s


@pytest.mark.parametrize(("env", "message"), [
    ({"SCOPEGATE_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS": "0"},
     "SCOPEGATE_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS"),
    ({"SCOPEGATE_LOGIN_FAILURES_PER_ADDRESS": "-1"}, "SCOPEGATE_LOGIN_FAILURES_PER_ADDRESS"),
    ({"SCOPEGATE_LOGIN_FIRST_WAIT": "nan"}, "SCOPEGATE_LOGIN_FIRST_WAIT"),
    ({"SCOPEGATE_LOGIN_FIRST_WAIT": "0"}, "SCOPEGATE_LOGIN_FIRST_WAIT"),
    ({"SCOPEGATE_LOGIN_MAX_WAIT": "0.5"},
     r"SCOPEGATE_LOGIN_MAX_WAIT \(--login-max-wait\) must be at least"),
    ({"SCOPEGATE_LOGIN_MAX_WAIT": "1e9"}, "SCOPEGATE_LOGIN_MAX_WAIT"),
    ({"SCOPEGATE_LOGIN_FAILURE_RESET": "0"}, "SCOPEGATE_LOGIN_FAILURE_RESET"),
    ({"SCOPEGATE_FORWARDED_ALLOW_IPS": "proxy.internal"}, "SCOPEGATE_FORWARDED_ALLOW_IPS"),
    ({"SCOPEGATE_FORWARDED_ALLOW_IPS": "10.0.0.0/33"}, "SCOPEGATE_FORWARDED_ALLOW_IPS"),
])


def test_bad_login_or_proxy_settings_name_the_variable(env: dict[str, str],
                                                       message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env={**env, "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})


def test_a_new_setting_plugs_into_the_check_table() -> None:
    """Every field but the feature flags has a start-up check (one row per setting)."""
    from scopegate.server.config.settings import FIELD_CHECKS

    names = set(Settings.model_fields) - {"features"}
    assert names == set(FIELD_CHECKS)


def test_an_ipv6_host_gives_a_valid_default_issuer() -> None:
    s = Settings.from_env(env={"SCOPEGATE_HOST": "::1", "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})
    assert s.issuer == "http://[::1]:8000"


@pytest.mark.parametrize(("env", "message"), [
    ({"SCOPEGATE_SESSION_IDLE_TTL": "0"}, "SCOPEGATE_SESSION_IDLE_TTL .* must"),
    ({"SCOPEGATE_SESSION_ABSOLUTE_TTL": "-5"}, "SCOPEGATE_SESSION_ABSOLUTE_TTL .* must be"),
    ({"SCOPEGATE_SESSION_ABSOLUTE_TTL": "99999999999"}, "SCOPEGATE_SESSION_ABSOLUTE_TTL"),
    ({"SCOPEGATE_SESSION_IDLE_TTL": "50000"}, "must be at most SESSION_ABSOLUTE_TTL"),
    ({"SCOPEGATE_SESSION_IDLE_TTL": "half an hour"}, "SCOPEGATE_SESSION_IDLE_TTL must be a"),
])
def test_bad_session_lifetimes_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env={**env, "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})


def test_the_sentences_are_exact() -> None:
    with pytest.raises(ValueError) as caught:
        Settings.from_env(env={"SCOPEGATE_PORT": "eighty"}, database_url="sqlite:///x.db")
    assert str(caught.value) == "SCOPEGATE_PORT must be a number, not 'eighty'"
    with pytest.raises(ValueError) as caught:
        Settings.from_env(env={"SCOPEGATE_FEATURE_DEVICE_FLOW": "maybe"},
                          database_url="sqlite:///x.db")
    assert str(caught.value) == "SCOPEGATE_FEATURE_DEVICE_FLOW must be on or off"


def test_an_override_of_the_wrong_type_names_the_setting_and_its_flag() -> None:
    with pytest.raises(ConfigError, match=r"^SCOPEGATE_PORT \(--port\) must be a whole number "
                                          r"in 1\.\.65535, not 1\.5$"):
        Settings.from_env(env={}, database_url="sqlite:///x.db", port=1.5)


def test_an_empty_feature_variable_turns_the_feature_off() -> None:
    env = {"SCOPEGATE_FEATURE_METRICS": "", "SCOPEGATE_FEATURE_USERINFO": " ON "}
    s = Settings.from_env(env=env, database_url="sqlite:///x.db")
    assert s.features.metrics is False and s.features.userinfo is True


def test_only_from_env_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOPEGATE_PORT", "9999")
    monkeypatch.setenv("SCOPEGATE_FEATURE_METRICS", "off")
    assert Settings.from_env(database_url="sqlite:///x.db").port == 9999
    built = Settings(database_url="sqlite:///x.db")
    assert built.port == 8000 and built.features.metrics is True


def test_settings_are_immutable_and_a_changed_copy_is_checked_again() -> None:
    s = Settings.from_env(env={}, database_url="sqlite:///x.db")
    with pytest.raises(ValidationError, match="frozen"):
        s.port = 1  # type: ignore[misc]
    assert s.replace(port=9001).port == 9001 and s.port == 8000
    with pytest.raises(ConfigError, match=r"SCOPEGATE_PORT \(--port\) must be"):
        s.replace(port=0)
