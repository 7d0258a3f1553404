"""Browser-session rows on SQLite and PostgreSQL: start, find, touch, end, prune, and the
user changes that end them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from scopegate.store import Database
from scopegate.store.models import utcnow
from scopegate.store.repositories.sessions import NewSession, SessionRepository
from scopegate.store.repositories.users import UserRecord, UserRepository

NOW = utcnow()


def _user(db: Database) -> UserRecord:
    return UserRepository(db).create(email=f"u{uuid.uuid4().hex[:10]}@example.org",
                                     password_hash="x", role="member")


def _start(db: Database, user: UserRecord, expires_in: int = 1800,
           replaces: str | None = None) -> str:
    token_hash = uuid.uuid4().hex * 2
    SessionRepository(db).start(NewSession(
        token_hash=token_hash, user_id=user.id, now=NOW,
        expires_at=NOW + timedelta(seconds=expires_in), client_ip="127.0.0.1",
        user_agent="x" * 500), replaces)
    return token_hash


def test_a_session_is_found_with_its_user_touched_and_ended(db: Database) -> None:
    repo, user = SessionRepository(db), _user(db)
    token_hash = _start(db, user)
    found = repo.find(token_hash)
    assert found is not None
    record, owner = found
    assert owner.id == user.id and not owner.disabled
    assert record.id.startswith("ses_") and record.user_agent == "x" * 200
    later = NOW + timedelta(minutes=5)
    assert repo.touch(record.id, later, later + timedelta(minutes=30))
    touched = repo.find(token_hash)
    assert touched is not None and touched[0].last_seen_at == later
    assert repo.end(token_hash) and repo.find(token_hash) is None
    assert not repo.end(token_hash) and not repo.touch(record.id, later, later)


def test_a_new_login_replaces_the_old_session(db: Database) -> None:
    repo, user = SessionRepository(db), _user(db)
    old = _start(db, user)
    new = _start(db, user, replaces=old)
    assert repo.find(old) is None and repo.find(new) is not None


def test_listing_and_ending_one_or_all_of_a_users_sessions(db: Database) -> None:
    repo, user, other = SessionRepository(db), _user(db), _user(db)
    _start(db, user)
    _start(db, user)
    _start(db, user, expires_in=-60)  # expired: not listed
    kept = _start(db, other)
    listed = repo.for_user(user.id)
    assert len(listed) == 2
    assert repo.end_for_user(user.id, listed[0].id) == 1
    assert repo.end_for_user(user.id, listed[0].id) == 0
    assert repo.end_for_user(other.id, listed[1].id) == 0  # not theirs
    assert repo.end_for_user(user.id) == 2  # the live one and the expired one
    assert repo.for_user(user.id) == [] and repo.find(kept) is not None


def test_a_password_change_or_disabling_ends_every_session(db: Database) -> None:
    users, repo = UserRepository(db), SessionRepository(db)
    user, other = _user(db), _user(db)
    mine, theirs = [_start(db, user), _start(db, user)], _start(db, other)
    users.set_password_hash(user.id, "rehashed")  # same password: sessions stay
    assert all(repo.find(t) is not None for t in mine)
    assert users.change_password(user.id, "new-hash") == 2
    assert all(repo.find(t) is None for t in mine) and repo.find(theirs) is not None
    again = _start(db, user)
    assert users.set_disabled(user.id, True) == 1 and repo.find(again) is None
    found = users.get(user.id)
    assert found is not None and found.disabled and found.password_hash == "new-hash"
    assert users.set_disabled(user.id, False) == 0
    enabled = users.get(user.id)
    assert enabled is not None and not enabled.disabled


def test_prune_deletes_only_sessions_past_their_deadline(db: Database) -> None:
    repo, user = SessionRepository(db), _user(db)
    while repo.prune(NOW + timedelta(days=1), 500):
        pass
    dead, live = _start(db, user, expires_in=-1), _start(db, user)
    assert repo.prune(NOW) == 1
    assert repo.find(dead) is None and repo.find(live) is not None
