"""Migration 0004 renames stored legacy scope names, and back, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from scopegate.store import Database

from ._migrations import NOW, insert


def _client(db: Database, client_id: str, allowed: list[str], default: list[str]) -> None:
    insert(db, "clients", client_id=client_id, name=client_id, secret_hash=None, is_public=True,
            grant_types=["client_credentials"], redirect_uris=[], allowed_scopes=allowed,
            default_scopes=default, created_at=NOW)


def _key(db: Database, key_id: str, scopes: list[str]) -> None:
    insert(db, "api_keys", id=key_id, user_id="usr_1", workspace_id=None, name=key_id,
            prefix="sg", key_hash="0" * 64, scopes=scopes, created_at=NOW)


def _scopes(db: Database) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with db.engine.connect() as conn:
        for key_id, scopes in conn.execute(sa.text("SELECT id, scopes FROM api_keys")):
            out[f"key:{key_id}"] = _json(scopes)
        for cid, allowed, default in conn.execute(
                sa.text("SELECT client_id, allowed_scopes, default_scopes FROM clients")):
            out[f"client:{cid}"] = (_json(allowed), _json(default))
        for uid, cid, scopes in conn.execute(
                sa.text("SELECT user_id, client_id, scopes FROM consents")):
            out[f"consent:{uid}:{cid}"] = _json(scopes)
    return out


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_upgrade_renames_legacy_names_and_downgrade_restores_them(empty_db: Database) -> None:
    empty_db.upgrade("0003_api_keys")
    insert(empty_db, "users", id="usr_1", email="a@example.com", name=None, password_hash="x",
            role="admin", created_at=NOW)
    _client(empty_db, "legacy", ["all", "apps:read"], ["application_connect"])
    _client(empty_db, "modern", ["apps:read", "api"], ["api"])
    insert(empty_db, "consents", user_id="usr_1", client_id="legacy", scopes=["all", "openid"],
            updated_at=NOW)
    _key(empty_db, "k_all", ["all"])
    _key(empty_db, "k_empty", [])
    _key(empty_db, "k_mixed", ["application_connect", "apps:read"])
    _key(empty_db, "k_dup", ["all", "scopegate:all"])

    empty_db.upgrade("0004_canonical_scopes")
    assert empty_db.current_revision() == "0004_canonical_scopes"
    after = _scopes(empty_db)
    assert after["key:k_all"] == ["scopegate:all"]
    assert after["key:k_empty"] == []  # still "predates scopes": the catalog reads it as all
    assert after["key:k_mixed"] == ["apps:read", "scopegate:application_connect"]
    assert after["key:k_dup"] == ["scopegate:all"]
    assert after["client:legacy"] == (["apps:read", "scopegate:all"],
                                      ["scopegate:application_connect"])
    assert after["client:modern"] == (["apps:read", "api"], ["api"])  # untouched, order kept
    assert after["consent:usr_1:legacy"] == ["openid", "scopegate:all"]

    # A row written by the new code, then the way back down.
    _key(empty_db, "k_new", ["scopegate:application_connect", "workspace:read"])
    empty_db.downgrade("0003_api_keys")
    assert empty_db.current_revision() == "0003_api_keys"
    before = _scopes(empty_db)
    assert before["key:k_all"] == ["all"]
    assert before["key:k_mixed"] == ["application_connect", "apps:read"]
    assert before["key:k_new"] == ["application_connect", "workspace:read"]
    assert before["client:legacy"] == (["all", "apps:read"], ["application_connect"])
    assert before["consent:usr_1:legacy"] == ["all", "openid"]

    # And up again: same canonical data as the first time.
    empty_db.upgrade("head")
    again = _scopes(empty_db)
    assert again["key:k_all"] == ["scopegate:all"]
    assert again["key:k_new"] == ["scopegate:application_connect", "workspace:read"]
    assert again["client:legacy"] == after["client:legacy"]


def test_upgrade_on_empty_tables_is_a_no_op(empty_db: Database) -> None:
    empty_db.upgrade()
    assert empty_db.is_current()
    assert _scopes(empty_db) == {}
    empty_db.downgrade("0003_api_keys")
    assert _scopes(empty_db) == {}
