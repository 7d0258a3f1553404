"""Migration 0004 renames stored legacy scope names, and back, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scopegate.store import Database

from ._migrations import BACKENDS, NOW, empty_database, insert


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from empty_database(request, tmp_path)


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


def test_upgrade_renames_legacy_names_and_downgrade_restores_them(db: Database) -> None:
    db.upgrade("0003_api_keys")
    insert(db, "users", id="usr_1", email="a@example.com", name=None, password_hash="x",
            role="admin", created_at=NOW)
    _client(db, "legacy", ["all", "apps:read"], ["application_connect"])
    _client(db, "modern", ["apps:read", "api"], ["api"])
    insert(db, "consents", user_id="usr_1", client_id="legacy", scopes=["all", "openid"],
            updated_at=NOW)
    _key(db, "k_all", ["all"])
    _key(db, "k_empty", [])
    _key(db, "k_mixed", ["application_connect", "apps:read"])
    _key(db, "k_dup", ["all", "scopegate:all"])

    db.upgrade("0004_canonical_scopes")
    assert db.current_revision() == "0004_canonical_scopes"
    after = _scopes(db)
    assert after["key:k_all"] == ["scopegate:all"]
    assert after["key:k_empty"] == []  # still "predates scopes": the catalog reads it as all
    assert after["key:k_mixed"] == ["apps:read", "scopegate:application_connect"]
    assert after["key:k_dup"] == ["scopegate:all"]
    assert after["client:legacy"] == (["apps:read", "scopegate:all"],
                                      ["scopegate:application_connect"])
    assert after["client:modern"] == (["apps:read", "api"], ["api"])  # untouched, order kept
    assert after["consent:usr_1:legacy"] == ["openid", "scopegate:all"]

    # A row written by the new code, then the way back down.
    _key(db, "k_new", ["scopegate:application_connect", "workspace:read"])
    db.downgrade("0003_api_keys")
    assert db.current_revision() == "0003_api_keys"
    before = _scopes(db)
    assert before["key:k_all"] == ["all"]
    assert before["key:k_mixed"] == ["application_connect", "apps:read"]
    assert before["key:k_new"] == ["application_connect", "workspace:read"]
    assert before["client:legacy"] == (["all", "apps:read"], ["application_connect"])
    assert before["consent:usr_1:legacy"] == ["all", "openid"]

    # And up again: same canonical data as the first time.
    db.upgrade("head")
    again = _scopes(db)
    assert again["key:k_all"] == ["scopegate:all"]
    assert again["key:k_new"] == ["scopegate:application_connect", "workspace:read"]
    assert again["client:legacy"] == after["client:legacy"]


def test_upgrade_on_empty_tables_is_a_no_op(db: Database) -> None:
    db.upgrade()
    assert db.is_current()
    assert _scopes(db) == {}
    db.downgrade("0003_api_keys")
    assert _scopes(db) == {}
