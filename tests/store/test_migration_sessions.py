"""Migration 0006 adds ``user_sessions`` and ``users.disabled_at`` and takes them away
again, keeping every user and what references them, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scopegate.store import Database

from ._migrations import BACKENDS, NOW, empty_database, insert


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from empty_database(request, tmp_path)


def _count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_upgrade_adds_sessions_and_downgrade_keeps_users_and_their_rows(
        db: Database) -> None:
    db.upgrade("0005_code_replay")
    insert(db, "users", id="usr_1", email="a@example.com", name=None, password_hash="x",
           role="member", created_at=NOW)
    insert(db, "workspaces", id="ws_1", name="acme", created_at=NOW)
    insert(db, "memberships", user_id="usr_1", workspace_id="ws_1", role="member",
           created_at=NOW)

    db.upgrade("0006_sessions")
    assert db.current_revision() == "0006_sessions"
    inspector = sa.inspect(db.engine)
    assert "disabled_at" in {c["name"] for c in inspector.get_columns("users")}
    assert {"ix_user_sessions_user_id", "ix_user_sessions_expires_at"} <= {
        str(i["name"]) for i in inspector.get_indexes("user_sessions")}
    insert(db, "user_sessions", id="ses_1", token_hash="0" * 64, user_id="usr_1",
           created_at=NOW, last_seen_at=NOW, expires_at=NOW, client_ip=None,
           user_agent=None)

    db.downgrade("0005_code_replay")
    inspector = sa.inspect(db.engine)
    assert "user_sessions" not in inspector.get_table_names()
    assert "disabled_at" not in {c["name"] for c in inspector.get_columns("users")}
    assert _count(db, "users") == 1 and _count(db, "memberships") == 1
