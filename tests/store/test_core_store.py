"""Core tables on SQLite and PostgreSQL: clients, secrets, keys, revoked token ids."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scopegate.store import Database, DatabaseError
from scopegate.store.models import utcnow
from scopegate.store.repositories import (
    ClientRepository,
    RevocationRepository,
    SecretRepository,
    SigningKeyRepository,
)
from scopegate.store.sealing import KekRing, generate_kek

KEKS = KekRing.parse(generate_kek(), "test")


def test_upgrade_reaches_head_and_is_idempotent(db: Database) -> None:
    assert db.is_current()
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"clients", "signing_keys", "server_secrets", "revoked_tokens"} <= tables


def test_clients_store_canonical_scope_lists(db: Database) -> None:
    repo = ClientRepository(db)
    cid = "c-" + uuid.uuid4().hex[:8]
    created = repo.create(client_id=cid, name="ci", secret_hash="h",
                          grant_types=["client_credentials"],
                          allowed_scopes=["apps:read", "api", "api"], default_scopes=["api"])
    assert created.allowed_scopes == frozenset({"api", "apps:read"})
    got = repo.get(cid)
    assert got == created and got.created_at.tzinfo is not None
    assert cid in {c.client_id for c in repo.list()}
    assert repo.delete(cid) and not repo.delete(cid)
    assert repo.get(cid) is None


def test_public_client_has_no_secret(db: Database) -> None:
    cid = "p-" + uuid.uuid4().hex[:8]
    record = ClientRepository(db).create(client_id=cid, name="cli", secret_hash=None,
                                         grant_types=["authorization_code"],
                                         allowed_scopes=["openid"], default_scopes=["openid"],
                                         redirect_uris=["http://127.0.0.1/cb"])
    assert record.is_public and record.redirect_uris == ("http://127.0.0.1/cb",)


def test_server_secret_is_generated_once(db: Database) -> None:
    repo = SecretRepository(db, KEKS)
    name = "s-" + uuid.uuid4().hex[:8]
    first = repo.get_or_create(name)
    assert len(first) >= 40 and repo.get_or_create(name) == first


def test_signing_keys_rotate_and_prune(db: Database) -> None:
    repo = SigningKeyRepository(db, KEKS)
    old = "k1-" + uuid.uuid4().hex[:6]
    repo.add(old, "ES256", "pem")
    new = "k2-" + uuid.uuid4().hex[:6]
    retired = repo.rotate([(new, "ES256", "pem")], timedelta(hours=1))
    assert old in retired
    published = {k.kid: k for k in repo.published()}
    assert not published[old].active and published[new].active
    assert repo.prune(now=utcnow() + timedelta(hours=2)) >= len(retired)
    assert old not in {k.kid for k in repo.published()}


def test_a_failed_rotation_keeps_the_old_key_active(db: Database) -> None:
    repo = SigningKeyRepository(db, KEKS)
    old = "k1-" + uuid.uuid4().hex[:6]
    repo.add(old, "ES256", "pem")
    with pytest.raises(IntegrityError):  # the duplicate kid aborts the whole transaction
        repo.rotate([("dup-" + old, "ES256", "pem"), ("dup-" + old, "RS256", "pem")],
                    timedelta(hours=1))
    still = {k.kid: k for k in repo.published()}
    assert still[old].active and ("dup-" + old) not in still


def test_revoked_ids_are_kept_until_expiry(db: Database) -> None:
    repo = RevocationRepository(db)
    jti = uuid.uuid4().hex
    repo.revoke(jti, utcnow() + timedelta(minutes=5))
    repo.revoke(jti, utcnow() + timedelta(minutes=5))
    assert repo.is_revoked(jti) and jti in repo.active()
    assert repo.prune(now=utcnow() + timedelta(minutes=10)) >= 1
    assert not repo.is_revoked(jti)


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="invalid database URL"):
        Database("not a url")
    with pytest.raises(DatabaseError, match="cannot connect"):
        Database("postgresql+psycopg://nobody@127.0.0.1:1/x").current_revision()
