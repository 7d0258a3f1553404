"""Migration 0010 records the browser session a grant was approved in, on SQLite and
PostgreSQL: grants from before have none (their tokens carry no ``sid``, as before), and
ending a session revokes only what was approved in it, in one transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from scopegate.store import Database
from scopegate.store.models import utcnow
from scopegate.store.repositories.authorization_codes import AuthorizationCodeRepository
from scopegate.store.repositories.refresh_tokens import NewRefreshToken, RefreshTokenRepository
from scopegate.store.repositories.revocations import RevocationRepository
from scopegate.store.repositories.sessions import NewSession, SessionRepository

from ._migrations import NOW, insert

REVISION = "0015_session_ids"
BEFORE = "0014_pushed_requests"
TABLES = ("authorization_codes", "device_codes", "refresh_tokens")


@pytest.fixture
def db(empty_db: Database) -> Database:
    """An empty database per backend (this module walks the migrations itself)."""
    return empty_db


def _user_and_client(db: Database) -> None:
    insert(db, "users", id="usr_1", email="u1@example.org", password_hash="x", role="member",
           created_at=NOW)
    insert(db, "clients", client_id="cli", name="c", secret_hash=None, is_public=True,
           grant_types=["authorization_code"], redirect_uris=["http://127.0.0.1/cb"],
           allowed_scopes=["api"], default_scopes=["api"], created_at=NOW)


def _family(db: Database, session_id: str | None, jti: str) -> NewRefreshToken:
    now = utcnow()
    token = NewRefreshToken(
        token_hash=uuid.uuid4().hex * 2, family_id=f"fam_{uuid.uuid4().hex[:8]}",
        client_id="cli", user_id="usr_1", scopes=frozenset({"api"}), resources=(),
        auth_time=now, expires_at=now + timedelta(days=1), access_jti=jti,
        access_expires_at=now + timedelta(minutes=5), session_id=session_id)
    RefreshTokenRepository(db).add(token)
    return token


def _session(db: Database) -> str:
    now = utcnow()
    return SessionRepository(db).start(NewSession(
        token_hash=uuid.uuid4().hex * 2, user_id="usr_1", now=now,
        expires_at=now + timedelta(hours=1))).id


def test_grants_from_before_have_no_session_and_still_refresh(db: Database) -> None:
    db.upgrade(BEFORE)
    _user_and_client(db)
    insert(db, "refresh_tokens", token_hash="a" * 64, family_id="fam_old", client_id="cli",
           user_id="usr_1", scopes=["api"], resources=[], auth_time=NOW,
           expires_at=NOW + timedelta(days=3650), created_at=NOW)
    db.upgrade(REVISION)
    old = RefreshTokenRepository(db).get("a" * 64)
    assert old is not None and old.live and old.session_id is None
    indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("refresh_tokens")}
    assert "ix_refresh_tokens_session_id" in indexes


def test_ending_a_session_revokes_only_what_it_approved(db: Database) -> None:
    db.upgrade(REVISION)
    _user_and_client(db)
    ended, kept = _session(db), _session(db)
    mine, other, plain = (_family(db, ended, "jti-mine"), _family(db, kept, "jti-other"),
                          _family(db, None, "jti-plain"))
    codes = AuthorizationCodeRepository(db)
    for code_hash, session_id in (("c" * 64, ended), ("d" * 64, kept)):
        codes.create(code_hash=code_hash, client_id="cli", user_id="usr_1",
                     redirect_uri="http://127.0.0.1/cb", scopes=["api"], resources=(),
                     code_challenge="x" * 43, code_challenge_method="S256", nonce=None,
                     auth_time=NOW, expires_at=utcnow() + timedelta(minutes=1),
                     session_id=session_id)
    sessions, revocations = SessionRepository(db), RevocationRepository(db)
    revocations.revoke("jti-mine", utcnow() + timedelta(minutes=5))  # denied already: fine
    assert sessions.end_with_grants("usr_other", ended) is None  # not theirs: nothing
    denied = sessions.end_with_grants("usr_1", ended)
    assert denied is not None and [jti for jti, _ in denied] == ["jti-mine"]
    assert sessions.end_with_grants("usr_1", ended) is None  # ended already
    refresh = RefreshTokenRepository(db)
    live = {t.family_id: t.live for t in (refresh.get(f.token_hash) for f in
                                          (mine, other, plain)) if t is not None}
    assert live == {mine.family_id: False, other.family_id: True, plain.family_id: True}
    assert revocations.is_revoked("jti-mine") and not revocations.is_revoked("jti-other")
    assert codes.consume("c" * 64) is None  # not exchanged yet: gone with the session
    assert codes.consume("d" * 64) is not None
    assert [s.id for s in sessions.for_user("usr_1")] == [kept]


def test_downgrade_drops_the_session_columns(db: Database) -> None:
    db.upgrade(REVISION)
    db.downgrade(BEFORE)
    for table in TABLES:
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns(table)}
        assert "session_id" not in columns
    db.upgrade(REVISION)  # and back up again
