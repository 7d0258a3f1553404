"""``scopegate`` and the key-encryption key: the zero-set-up key file beside an SQLite
database, ``secrets generate-kek`` and ``secrets rotate-kek``, and refusing to start with a
wrong or missing KEK (one line, exit 2, nothing served)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import Result
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.store import Database
from scopegate.store.sealing import KekRing

KEK_NOTICE = "key-encryption key"


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sealed_by(url: str) -> set[str]:
    """The KEK ids named by the sealed values in the database."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        values = list(conn.execute(sa.text("SELECT private_pem FROM signing_keys")).scalars())
        values += conn.execute(sa.text("SELECT value FROM server_secrets")).scalars()
    engine.dispose()
    assert values and all(v.startswith("sg-kek:v1:") for v in values), values
    return {v.split(":")[2] for v in values}


def kek_id(path: Path) -> str:
    return KekRing.parse(path.read_text(), str(path)).primary.id


def token_status(url: str, client: dict[str, str], **kek: str) -> int:
    settings = Settings.from_env(env={}, database_url=url, issuer="http://testserver", **kek)
    with TestClient(create_app(settings)) as http:
        return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=(client["client_id"], client["client_secret"])).status_code


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLite file to be, or a migrated PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scopegate.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"kek_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    Database(url).upgrade()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_sqlite_key_file_is_created_0600_announced_once_and_reused(tmp_path: Path) -> None:
    env = {"SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'scopegate.db'}"}
    first = run(env, "clients", "create", "--name", "one", "--json")
    assert first.exit_code == 0, first.output
    key_file = tmp_path / "scopegate.db.kek"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.stderr.count(str(key_file)) == 1 and KEK_NOTICE in first.stderr
    content = key_file.read_bytes()
    second = run(env, "clients", "create", "--name", "two", "--json")
    assert second.exit_code == 0, second.output
    assert str(key_file) not in second.stderr and key_file.read_bytes() == content
    client = json.loads(second.stdout)
    assert token_status(env["SCOPEGATE_DATABASE_URL"], client) == 200


def test_generate_kek_writes_a_0600_file_and_never_overwrites_one(tmp_path: Path) -> None:
    target = tmp_path / "kek"
    made = run({}, "secrets", "generate-kek", "--output", str(target))
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and kek_id(target) in made.stdout
    before = target.read_bytes()
    again = run({}, "secrets", "generate-kek", "--output", str(target))
    assert again.exit_code == 1 and "exists" in one_error_line(again)
    assert target.read_bytes() == before
    printed = run({}, "secrets", "generate-kek")
    assert printed.exit_code == 0 and KekRing.parse(printed.stdout, "stdout").primary.id


def test_rotate_kek_reencrypts_everything_and_the_old_kek_is_no_longer_needed(
        database_url: str, tmp_path: Path) -> None:
    old, new = tmp_path / "old.kek", tmp_path / "new.kek"
    for path in (old, new):
        assert run({}, "secrets", "generate-kek", "--output", str(path)).exit_code == 0
    env = {"SCOPEGATE_DATABASE_URL": database_url, "SCOPEGATE_KEK": old.read_text().strip()}
    created = run(env, "clients", "create", "--name", "bot", "--json")
    assert created.exit_code == 0, created.output
    client = json.loads(created.stdout)
    kids = json.loads(run(env, "signing-keys", "list", "--json").stdout)
    assert sealed_by(database_url) == {kek_id(old)}
    both = {**env, "SCOPEGATE_KEK": f"{new.read_text().strip()},{env['SCOPEGATE_KEK']}"}
    assert run(both, "clients", "list").exit_code == 0  # an old KEK listed second still opens

    rotated = run(env, "secrets", "rotate-kek", "--new-kek-file", str(new))
    assert rotated.exit_code == 0, rotated.output
    assert kek_id(new) in rotated.stdout and re.search(r"re-encrypted \d+ secrets", rotated.stdout)
    assert sealed_by(database_url) == {kek_id(new)}

    refused = run(env, "clients", "list")  # the old KEK alone opens nothing any more
    assert refused.exit_code == 2 and kek_id(new) in one_error_line(refused)
    with_new = {"SCOPEGATE_DATABASE_URL": database_url, "SCOPEGATE_KEK_FILE": str(new)}
    assert json.loads(run(with_new, "signing-keys", "list", "--json").stdout) == kids
    assert token_status(database_url, client, kek_file=str(new)) == 200


def test_rotate_kek_of_the_local_key_file_replaces_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scopegate.db'}"
    env = {"SCOPEGATE_DATABASE_URL": url}
    client = json.loads(run(env, "clients", "create", "--name", "bot", "--json").stdout)
    key_file = tmp_path / "scopegate.db.kek"
    before = kek_id(key_file)
    rotated = run(env, "secrets", "rotate-kek")
    assert rotated.exit_code == 0, rotated.output
    after = kek_id(key_file)
    assert after != before and sealed_by(url) == {after}
    assert len(KekRing.parse(key_file.read_text(), "f").ids) == 1  # the old key is gone
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert token_status(url, client) == 200


def test_serve_with_a_wrong_kek_exits_2_with_one_line_and_serves_nothing(
        database_url: str, tmp_path: Path) -> None:
    right, wrong = tmp_path / "right.kek", tmp_path / "wrong.kek"
    for path in (right, wrong):
        run({}, "secrets", "generate-kek", "--output", str(path))
    env = {"SCOPEGATE_DATABASE_URL": database_url}
    assert run({**env, "SCOPEGATE_KEK_FILE": str(right)}, "clients", "list").exit_code == 0
    port = str(free_port())
    result = run(env, "serve", "--port", port, "--kek-file", str(wrong))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert kek_id(right) in line and "SCOPEGATE_KEK" in line
    assert "listening" not in result.output


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_serve_on_postgresql_without_a_kek_names_the_settings_and_exits_2(
        database_url: str) -> None:
    result = run({"SCOPEGATE_DATABASE_URL": database_url}, "serve", "--port", str(free_port()))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "SCOPEGATE_KEK" in line and "SCOPEGATE_KEK_FILE" in line


@pytest.mark.parametrize("value", ["not-a-key", "c2hvcnQ"])
def test_a_malformed_kek_is_one_line_exit_2_and_not_echoed(tmp_path: Path, value: str) -> None:
    env = {"SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SCOPEGATE_KEK": value}
    result = run(env, "clients", "list")
    assert result.exit_code == 2 and value not in one_error_line(result)


def test_serve_with_two_workers_makes_one_key_file_and_says_so_once(tmp_path: Path) -> None:
    scopegate = str(Path(sys.executable).with_name("scopegate"))
    port = free_port()
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    env.pop("SCOPEGATE_KEK", None)
    env.pop("SCOPEGATE_KEK_FILE", None)
    proc = subprocess.Popen([scopegate, "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                httpx.get(f"http://127.0.0.1:{port}/jwks.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    key_file = tmp_path / "serve.db.kek"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stderr.count(str(key_file)) == 1, stderr
    assert sealed_by(env["SCOPEGATE_DATABASE_URL"]) == {kek_id(key_file)}
