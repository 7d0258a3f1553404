"""``scopegate serve`` refuses every bad setting before serving: one line, exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCOPEGATE = str(Path(sys.executable).with_name("scopegate"))

BAD_SETTINGS = [
    ("SCOPEGATE_PORT", "0"),
    ("SCOPEGATE_ISSUER", "https://auth.example.com/?tenant=1"),
    ("SCOPEGATE_ISSUER", "https://auth.example.com/#frag"),
    ("SCOPEGATE_ISSUER", "auth.example.com"),
    ("SCOPEGATE_DATABASE_URL", "mysql://db.example.com/scopegate"),
    ("SCOPEGATE_CATALOG_PATH", "/no/such/scopes.toml"),
    ("SCOPEGATE_REDIS_URL", "http://127.0.0.1:6379"),
    ("SCOPEGATE_REDIS_URL", "127.0.0.1:6379"),
    ("SCOPEGATE_API_KEY_PREFIX", "Not A Prefix"),
    ("SCOPEGATE_SESSION_SECRET", "short"),
    ("SCOPEGATE_MAX_BODY_BYTES", "10"),
    ("SCOPEGATE_DEVICE_INTERVAL", "100000"),
    ("SCOPEGATE_CLIENT_CACHE_TTL", "inf"),
    ("SCOPEGATE_WORKERS", "100000"),
    ("SCOPEGATE_SIGNING_ALG", "HS256"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS,
                         ids=[f"{n}={v}" for n, v in BAD_SETTINGS])
def test_a_bad_setting_stops_serve_with_one_line(variable: str, value: str,
                                                 tmp_path: Path) -> None:
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "SCOPEGATE_PORT": str(free_port()), variable: value}
    try:
        done = subprocess.run([SCOPEGATE, "serve"], env=env, capture_output=True, text=True,
                              timeout=20, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve started with {variable}={value}")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert variable in lines[0] and "must be" in lines[0]
    if variable == "SCOPEGATE_SESSION_SECRET":
        assert value not in lines[0]  # a secret is named, never repeated
    assert not (tmp_path / "x.db").exists()  # nothing was created either


def test_every_setting_but_the_secrets_and_feature_flags_is_a_serve_flag() -> None:
    from typer.testing import CliRunner

    from scopegate.cli._settings_flags import NO_FLAG, flag_name
    from scopegate.cli.main import app
    from scopegate.server.config.settings import Settings

    shown = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "400"}).output
    for setting in Settings.model_fields:
        assert (f"{flag_name(setting)} " in shown) is (setting not in NO_FLAG), setting


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles(tmp_path: Path) -> None:
    """SCOPEGATE_CATALOG (for SCOPEGATE_CATALOG_PATH) was ignored without a word."""
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "SCOPEGATE_CATALOG": "/no/such/scopes.toml", "SCOPEGATE_REDISURL": "redis://x",
           # the guard's, the SDK's and the examples' variables are not warned about
           "SCOPEGATE_GUARD_CLIENT_ID": "c", "SCOPEGATE_ENV": "local",
           "SCOPEGATE_EXAMPLE_PORT": "8001", "SCOPEGATE_FEATURE_METRICS": "on"}
    done = subprocess.run([SCOPEGATE, "scopes", "list"], env=env, capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "scopegate: warning: SCOPEGATE_CATALOG is not a scopegate setting and is ignored "
        "(did you mean SCOPEGATE_CATALOG_PATH?)",
        "scopegate: warning: SCOPEGATE_REDISURL is not a scopegate setting and is ignored "
        "(did you mean SCOPEGATE_REDIS_URL?)"]
    started = subprocess.run([SCOPEGATE, "serve", "--port", "0"], capture_output=True,
                             env={**env, "SCOPEGATE_CATALOG": "x"}, text=True, timeout=30,
                             check=False)
    assert "SCOPEGATE_CATALOG is not a scopegate setting" in started.stderr.splitlines()[0]
