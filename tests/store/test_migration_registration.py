"""Migration 0009 adds what a self-registered client keeps and widens ``client_id`` to
255 characters (a metadata document's URL), on SQLite and PostgreSQL; existing clients
are operator clients, and a downgrade keeps them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from scopegate.store import Database
from scopegate.store.repositories import ClientRepository

from ._migrations import NOW, insert

REVISION = "0009_registration"
BEFORE = "0008_resources"
DOCUMENT_URL = "https://client.example.com/" + "a" * 150 + "/metadata.json"


@pytest.fixture
def db(empty_db: Database) -> Database:
    """An empty database per backend (this module walks the migrations itself)."""
    return empty_db


def _client(db: Database, client_id: str) -> None:
    insert(db, "clients", client_id=client_id, name="c", secret_hash=None, is_public=True,
           grant_types=["authorization_code"], redirect_uris=["http://127.0.0.1/cb"],
           allowed_scopes=["api"], default_scopes=["api"], created_at=NOW)


def test_existing_clients_are_operator_clients_and_long_ids_fit(db: Database) -> None:
    db.upgrade(BEFORE)
    _client(db, "old")
    db.upgrade(REVISION)
    old = ClientRepository(db).get("old")
    assert old is not None
    assert not old.registered_dynamically and old.last_used_at is None
    assert old.registration_token_hash is None and dict(old.client_metadata) == {}
    _client(db, DOCUMENT_URL)
    insert(db, "users", id="u1", email="u1@example.org", password_hash="x", role="member",
           created_at=NOW)
    insert(db, "consents", user_id="u1", client_id=DOCUMENT_URL, scopes=["api"],
           updated_at=NOW)  # the tables that refer to clients take the long id too
    assert ClientRepository(db).get(DOCUMENT_URL) is not None


def test_downgrade_keeps_operator_clients_and_drops_what_no_longer_fits(db: Database) -> None:
    db.upgrade(REVISION)
    _client(db, "old")
    _client(db, DOCUMENT_URL)
    db.downgrade(BEFORE)
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("clients")}
    assert "registered_dynamically" not in columns and "last_used_at" not in columns
    with db.engine.connect() as conn:
        ids = set(conn.execute(sa.text("SELECT client_id FROM clients")).scalars())
    assert ids == {"old"}
