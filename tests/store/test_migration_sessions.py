"""Migration 0006 adds ``user_sessions`` and ``users.disabled_at`` and takes them away
again, keeping every user and what references them, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from scopegate.store import Database

from ._migrations import NOW, insert


def _count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_upgrade_adds_sessions_and_downgrade_keeps_users_and_their_rows(
        empty_db: Database) -> None:
    empty_db.upgrade("0005_code_replay")
    insert(empty_db, "users", id="usr_1", email="a@example.com", name=None, password_hash="x",
           role="member", created_at=NOW)
    insert(empty_db, "workspaces", id="ws_1", name="acme", created_at=NOW)
    insert(empty_db, "memberships", user_id="usr_1", workspace_id="ws_1", role="member",
           created_at=NOW)

    empty_db.upgrade("0006_sessions")
    assert empty_db.current_revision() == "0006_sessions"
    inspector = sa.inspect(empty_db.engine)
    assert "disabled_at" in {c["name"] for c in inspector.get_columns("users")}
    assert {"ix_user_sessions_user_id", "ix_user_sessions_expires_at"} <= {
        str(i["name"]) for i in inspector.get_indexes("user_sessions")}
    insert(empty_db, "user_sessions", id="ses_1", token_hash="0" * 64, user_id="usr_1",
           created_at=NOW, last_seen_at=NOW, expires_at=NOW, client_ip=None,
           user_agent=None)

    empty_db.downgrade("0005_code_replay")
    inspector = sa.inspect(empty_db.engine)
    assert "user_sessions" not in inspector.get_table_names()
    assert "disabled_at" not in {c["name"] for c in inspector.get_columns("users")}
    assert _count(empty_db, "users") == 1 and _count(empty_db, "memberships") == 1
