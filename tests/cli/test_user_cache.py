"""The token cache under the user CLI: broken, huge, unwritable or too open files.

Each case is a file a user could really end up with; the command must go on (or say in
one line why it cannot), never show a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scopegate.client import Token
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore

from .conftest import run_cli
from .loopback_issuer import PUBLIC_ID, Answer, LoopbackIssuer, write_config

SCOPEGATE = str(Path(sys.executable).with_name("scopegate"))


def set_aside(config: Path) -> list[Path]:
    return sorted(config.glob("tokens.json.corrupt-*"))


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[" * 200_000 + b"]" * 200_000, id="200000-deep"),
        pytest.param(b'{"tokens": {"k": ', id="cut-short"),
        pytest.param(b"\xff\xfe garbage", id="not-utf8"),
        pytest.param(b"[1, 2, 3]", id="not-an-object"),
    ],
)
def test_a_corrupt_cache_is_set_aside_with_one_warning_and_the_command_goes_on(
    config: Path, server: LoopbackIssuer, content: bytes
) -> None:
    (config / "tokens.json").write_bytes(content)
    code, out, err = run_cli("token", "--env", "svc")
    assert code == 0, err
    assert out.strip() in server.active
    (aside,) = set_aside(config)
    assert aside.read_bytes() == content  # kept for a post-mortem, not deleted
    (warning,) = warnings_in(err)
    assert "tokens.json" in warning and aside.name in warning
    # The fresh cache works: the next command reuses the token, silently.
    code, again, err = run_cli("token", "--env", "svc")
    assert (code, again, warnings_in(err)) == (0, out, [])


@pytest.mark.parametrize("command", ["token", "status", "logout"])
def test_a_cache_over_4_mb_is_set_aside_and_does_not_block_the_command(
    config: Path, command: str
) -> None:
    padding = {"version": 2, "tokens": {}, "padding": "x" * 4_200_000}
    (config / "tokens.json").write_text(json.dumps(padding))
    code, _, err = run_cli(command, "--env", "svc")
    assert code == (1 if command == "status" else 0), err  # status: "not logged in" is 1
    assert "Traceback" not in err and "error:" not in err
    (aside,) = set_aside(config)
    assert aside.stat().st_size > 4_000_000
    assert len(warnings_in(err)) == 1


def test_a_cache_readable_by_others_is_warned_about(config: Path) -> None:
    assert run_cli("token", "--env", "svc")[0] == 0
    (config / "tokens.json").chmod(0o644)
    code, _, err = run_cli("status", "--env", "svc")
    assert code == 0
    (warning,) = warnings_in(err)
    assert "tokens.json" in warning and "0644" in warning and "chmod 600" in warning


def test_a_credentials_file_readable_by_others_is_warned_about(config: Path) -> None:
    code, _, err = run_cli("token", "--env", "svc")
    assert (code, warnings_in(err)) == (0, [])  # 0600: nothing to say
    (config / "creds.json").chmod(0o640)
    code, out, err = run_cli("token", "--env", "svc")
    assert code == 0 and out.strip()
    (warning,) = warnings_in(err)
    assert "creds.json" in warning and "0640" in warning and "chmod 600" in warning


def seed_expired_session(config: Path, server: LoopbackIssuer, refresh_token: str) -> None:
    token = Token(access_token="at-old", issuer=server.url, client_id=PUBLIC_ID,
                  scopes=frozenset({"api", "openid", "offline_access"}), subject="user-1",
                  expires_at=time.time() - 10, refresh_token=refresh_token)
    TokenCache(FileTokenStore(config / "tokens.json")).save(token)


def test_invalid_grant_on_refresh_drops_the_dead_session(
    config: Path, server: LoopbackIssuer
) -> None:
    seed_expired_session(config, server, "rt-dead")
    server.dead_refresh.add("rt-dead")
    code, out, err = run_cli("token", "--env", "prod")
    assert (code, out) == (1, "")
    assert "scopegate login --env prod" in err
    # The dead refresh token is not sent again, and status tells the truth.
    code, _, err = run_cli("token", "--env", "prod")
    assert code == 1 and "scopegate login --env prod" in err
    refreshes = [r for r in server.received if r.form.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    code, out, _ = run_cli("status", "--env", "prod", "--json")
    assert code == 1 and json.loads(out) == {"logged_in": False, "tokens": []}


def test_a_refresh_that_fails_otherwise_keeps_the_session(
    config: Path, server: LoopbackIssuer
) -> None:
    seed_expired_session(config, server, "rt-1")
    server.overrides["/oauth/token"] = lambda _: Answer(503, {"error": "temporarily_unavailable"})
    assert run_cli("token", "--env", "prod")[0] == 1
    out = run_cli("status", "--env", "prod", "--json")[1]
    assert json.loads(out)["tokens"][0]["refreshable"] is True  # worth trying again later


# -- a read-only config directory ------------------------------------------------------

# Root ignores file modes; without its capabilities it is held to them like anyone else.
AS_PLAIN_USER = (["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]
                 if os.geteuid() == 0 else [])


@pytest.fixture
def read_only_config(tmp_path: Path, server: LoopbackIssuer) -> Iterator[Path]:
    """A config dir its user can read but not write."""
    if AS_PLAIN_USER and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop root's capabilities")
    directory = write_config(tmp_path / "config", server)
    directory.chmod(0o500)
    yield directory
    directory.chmod(0o700)


def run_unprivileged(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``scopegate`` as a user without write access to ``config``."""
    env = {**os.environ, "SCOPEGATE_CONFIG_DIR": str(config), "SCOPEGATE_NO_KEYRING": "1",
           "COLUMNS": "250", "NO_COLOR": "1"}
    env.pop("CI", None)
    return subprocess.run([*AS_PLAIN_USER, SCOPEGATE, *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_read_only_config_dir_still_yields_a_token_with_a_warning(
    read_only_config: Path, server: LoopbackIssuer
) -> None:
    ran = run_unprivileged(read_only_config, "token", "--env", "svc")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stdout.strip() in server.active
    (warning,) = warnings_in(ran.stderr)
    assert "not saved" in warning and "Permission denied" in warning
    assert not (read_only_config / "tokens.json").exists()
