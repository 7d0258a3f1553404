"""Migration 0005 adds ``authorization_codes.replayed_at`` and an index, and takes them
away again, keeping every code, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from scopegate.store import Database

from ._migrations import NOW, insert


def _code(db: Database, code_hash: str, **extra: Any) -> None:
    insert(db, "authorization_codes", code_hash=code_hash, client_id="cli", user_id="usr_1",
            redirect_uri="http://127.0.0.1/cb", scopes=["api"], resources=[],
            code_challenge="c" * 43, code_challenge_method="S256", nonce=None,
            auth_time=NOW, expires_at=NOW, used_at=NOW, refresh_family_id="fam_1",
            access_jti="jti-1", access_expires_at=NOW, created_at=NOW, **extra)


def _columns(db: Database, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns(table)}


def _indexes(db: Database, table: str) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(db.engine).get_indexes(table)}


def _codes(db: Database) -> dict[str, tuple[Any, ...]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT code_hash, refresh_family_id, access_jti FROM authorization_codes"))
        return {row[0]: tuple(row[1:]) for row in rows}


def test_upgrade_adds_replayed_at_and_downgrade_keeps_the_codes(empty_db: Database) -> None:
    empty_db.upgrade("0004_canonical_scopes")
    insert(empty_db, "users", id="usr_1", email="a@example.com", name=None, password_hash="x",
            role="member", created_at=NOW)
    insert(empty_db, "clients", client_id="cli", name="cli", secret_hash=None, is_public=True,
            grant_types=["authorization_code"], redirect_uris=[], allowed_scopes=["api"],
            default_scopes=["api"], created_at=NOW)
    _code(empty_db, "old")
    assert "replayed_at" not in _columns(empty_db, "authorization_codes")

    empty_db.upgrade("0005_code_replay")
    assert empty_db.current_revision() == "0005_code_replay"
    assert "replayed_at" in _columns(empty_db, "authorization_codes")
    assert "ix_refresh_tokens_expires_at" in _indexes(empty_db, "refresh_tokens")
    with empty_db.engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT replayed_at FROM authorization_codes WHERE code_hash = 'old'"
        )).scalar_one() is None
    _code(empty_db, "replayed", replayed_at=NOW)

    empty_db.downgrade("0004_canonical_scopes")
    assert empty_db.current_revision() == "0004_canonical_scopes"
    assert "replayed_at" not in _columns(empty_db, "authorization_codes")
    assert "ix_refresh_tokens_expires_at" not in _indexes(empty_db, "refresh_tokens")
    assert _codes(empty_db) == {"old": ("fam_1", "jti-1"), "replayed": ("fam_1", "jti-1")}

    empty_db.upgrade("head")
    assert empty_db.is_current() and "replayed_at" in _columns(empty_db, "authorization_codes")
    assert len(_codes(empty_db)) == 2
