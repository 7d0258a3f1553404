"""``scopegate db prune`` runs the maintenance pass once and prints what it deleted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.server.config.settings import Settings
from scopegate.server.state import prepare_database
from scopegate.store import Database
from scopegate.store.models import Client, DeviceCode, RevokedToken, utcnow

TEST_KEK = "dGVzdC1rZWstZm9yLXNjb3BlZ2F0ZS10ZXN0cy0wMDA"  # PostgreSQL needs a KEK
PAST = utcnow() - timedelta(hours=1)
FUTURE = utcnow() + timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database with a client, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'prune.db'}"
        admin = None
    else:
        base: str = request.getfixturevalue("postgres_url")
        schema = f"prune_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(base)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    prepare_database(db, Settings.from_env(env={}, database_url=url, kek=TEST_KEK))
    with db.session() as session:
        session.add(Client(client_id="cli", name="cli", secret_hash=None, is_public=True,
                           grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
                           redirect_uris=[], allowed_scopes=["api"], default_scopes=["api"]))
        for expires_at in (PAST, PAST, PAST, FUTURE):
            session.add(DeviceCode(device_code_hash=uuid.uuid4().hex,
                                   user_code_hash=uuid.uuid4().hex, client_id="cli",
                                   scopes=["api"], resources=[], interval=5,
                                   expires_at=expires_at))
        session.add(RevokedToken(jti="gone", expires_at=PAST))
        session.add(RevokedToken(jti="kept", expires_at=FUTURE))
    db.dispose()
    try:
        yield url
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _remaining(url: str) -> tuple[int, list[str]]:
    db = Database(url)
    try:
        with db.session() as session:
            devices = session.scalar(sa.select(sa.func.count()).select_from(DeviceCode))
            jtis = list(session.scalars(sa.select(RevokedToken.jti)))
        return int(devices or 0), jtis
    finally:
        db.dispose()


def test_prune_json_counts_each_table_and_a_second_run_finds_nothing(database_url: str
                                                                      ) -> None:
    runner = CliRunner()
    env = {"SCOPEGATE_DATABASE_URL": database_url, "SCOPEGATE_KEK": TEST_KEK}
    first = runner.invoke(app, ["db", "prune", "--json"], env=env)
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["pruned"]["device_codes"] == 3 and body["pruned"]["revoked_tokens"] == 1
    assert body["total"] == 4 and body["complete"] is True
    assert set(body["pruned"]) == {"authorization_codes", "device_codes", "refresh_tokens",
                                   "revoked_tokens", "api_keys", "consents", "user_sessions",
                                   "pushed_authorization_requests", "clients"}
    assert _remaining(database_url) == (1, ["kept"])

    again = runner.invoke(app, ["db", "prune", "--json"], env=env)
    assert json.loads(again.stdout)["total"] == 0


def test_prune_prints_a_table_for_people(database_url: str) -> None:
    result = CliRunner().invoke(app, ["db", "prune", "--database-url", database_url],
                                env={"SCOPEGATE_KEK": TEST_KEK})
    assert result.exit_code == 0, result.output
    device_line = next(line for line in result.stdout.splitlines() if "device_codes" in line)
    assert "3" in device_line
    assert "4 row(s) pruned" in result.stdout
