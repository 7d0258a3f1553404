"""Migration 0007 adds ``clients.resource_servers`` (NULL for every existing client: it
serves nothing) and takes it away again, keeping every client, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from scopegate.store import Database

from ._migrations import NOW, insert

REVISION = "0007_resource_servers"


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("clients")}


def test_existing_clients_serve_nothing_and_downgrade_keeps_them(empty_db: Database) -> None:
    empty_db.upgrade("0006_sessions")
    insert(empty_db, "clients", client_id="old", name="old", secret_hash="h", is_public=False,
           grant_types=["client_credentials"], redirect_uris=[], allowed_scopes=["api"],
           default_scopes=["api"], created_at=NOW)
    empty_db.upgrade(REVISION)
    assert "resource_servers" in _columns(empty_db)
    # The ORM models are at head (later migrations add columns): read and write raw rows.
    insert(empty_db, "clients", client_id="guard", name="guard", secret_hash="h", is_public=False,
           grant_types=["client_credentials"], redirect_uris=[], allowed_scopes=["api"],
           default_scopes=["api"], created_at=NOW, resource_servers=["https://api.example"])
    with empty_db.engine.connect() as conn:
        served = dict(conn.execute(sa.text("SELECT client_id, resource_servers FROM clients"))
                      .tuples().all())
    assert served["old"] is None
    assert "https://api.example" in str(served["guard"])
    empty_db.downgrade("0006_sessions")
    assert "resource_servers" not in _columns(empty_db)
    with empty_db.engine.connect() as conn:
        ids = set(conn.execute(sa.text("SELECT client_id FROM clients")).scalars())
    assert ids == {"old", "guard"}
