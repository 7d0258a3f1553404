"""API key storage: hashes only, rotation grace, revocation, expiry, last-used throttling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scopegate.store import Database
from scopegate.store.models.users import Membership, User, Workspace
from scopegate.store.repositories.api_keys import ApiKeyError, ApiKeyNotFound, ApiKeyRepository


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'keys.db'}")
    database.upgrade()
    with database.session() as session:
        session.add(User(id="usr_a", email="a@example.com", password_hash="x", role="member"))
        session.add(User(id="usr_b", email="b@example.com", password_hash="x", role="admin"))
        session.add(Workspace(id="ws_1", name="acme"))
        session.flush()
        session.add(Membership(user_id="usr_a", workspace_id="ws_1", role="viewer"))
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(db: Database, clock: Clock) -> ApiKeyRepository:
    return ApiKeyRepository(db, prefix="sg", clock=clock)


def count_statements(db: Database) -> list[str]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    return seen


def test_only_the_hash_is_stored(repo: ApiKeyRepository, db: Database) -> None:
    record, key = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"], expires_at=None)
    with db.engine.connect() as conn:
        dumped = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM api_keys"))
                          for v in row)
    assert key not in dumped and key.split("_")[1][10:] not in dumped
    assert record.id in key and record.scopes == ("apps:read",)
    verified = repo.verify(key)
    assert verified is not None and verified.owner_role == "member"


def test_typo_is_rejected_without_a_store_read(repo: ApiKeyRepository, db: Database) -> None:
    _, key = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"], expires_at=None)
    typo = key[:20] + ("x" if key[20] != "x" else "y") + key[21:]
    statements = count_statements(db)
    assert repo.verify(typo) is None
    assert statements == []
    assert repo.verify(key) is not None
    assert len(statements) >= 1


def test_unknown_well_formed_key_is_refused(repo: ApiKeyRepository) -> None:
    from scopegate.tokens.api_keys import generate_api_key

    assert repo.verify(generate_api_key("sg").key) is None


def test_expired_and_revoked_keys_stop_working(repo: ApiKeyRepository, clock: Clock) -> None:
    _, short = repo.create(user_id="usr_a", name="s", scopes=["apps:read"],
                           expires_at=clock.now + timedelta(hours=1))
    record, revoked = repo.create(user_id="usr_a", name="r", scopes=["apps:read"],
                                  expires_at=None)
    repo.revoke(record.id, user_id="usr_a")
    assert repo.verify(revoked) is None
    assert repo.verify(short) is not None
    clock.now += timedelta(hours=1)
    assert repo.verify(short) is None
    with pytest.raises(ApiKeyError, match="expired"):
        repo.rotate(_id(short), grace=timedelta(0))


def _id(key: str) -> str:
    return key.split("_")[1][:10]


def test_rotation_keeps_the_old_secret_for_the_grace_period(
        repo: ApiKeyRepository, clock: Clock) -> None:
    record, old = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"], expires_at=None)
    rotated, new = repo.rotate(record.id, grace=timedelta(hours=1), user_id="usr_a")
    assert rotated.id == record.id and new != old
    assert repo.verify(new) is not None
    old_verified = repo.verify(old)
    assert old_verified is not None and old_verified.matched_previous
    clock.now += timedelta(minutes=61)
    assert repo.verify(old) is None
    assert repo.verify(new) is not None


def test_second_rotation_ends_the_first_grace(repo: ApiKeyRepository) -> None:
    record, first = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"],
                                expires_at=None)
    _, second = repo.rotate(record.id, grace=timedelta(hours=1))
    _, third = repo.rotate(record.id, grace=timedelta(hours=1))
    assert repo.verify(first) is None
    assert repo.verify(second) is not None and repo.verify(third) is not None


def test_revoke_ends_the_grace_too(repo: ApiKeyRepository) -> None:
    record, old = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"], expires_at=None)
    _, new = repo.rotate(record.id, grace=timedelta(hours=1))
    repo.revoke(record.id)
    assert repo.verify(old) is None and repo.verify(new) is None


def test_other_users_keys_are_not_found(repo: ApiKeyRepository) -> None:
    record, _ = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"], expires_at=None)
    with pytest.raises(ApiKeyNotFound):
        repo.revoke(record.id, user_id="usr_b")
    with pytest.raises(ApiKeyNotFound):
        repo.rotate(record.id, grace=timedelta(0), user_id="usr_b")
    assert repo.list(user_id="usr_b") == []
    assert [k.id for k in repo.list(user_id="usr_a")] == [record.id]


def test_last_used_is_written_at_most_once_a_minute(
        repo: ApiKeyRepository, db: Database, clock: Clock) -> None:
    record, key = repo.create(user_id="usr_a", name="ci", scopes=["apps:read"], expires_at=None)
    statements = count_statements(db)
    repo.verify(key)
    first = repo.get(record.id).last_used_at
    assert first == clock.now
    clock.now += timedelta(seconds=30)
    for _ in range(5):
        repo.verify(key)
    assert repo.get(record.id).last_used_at == first
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
    clock.now += timedelta(seconds=31)
    repo.verify(key)
    assert repo.get(record.id).last_used_at == clock.now


def test_workspace_key_needs_the_membership(repo: ApiKeyRepository, db: Database) -> None:
    assert repo.workspace_role("usr_a", "acme") == ("ws_1", "viewer")
    assert repo.workspace_role("usr_a", "ws_1") == ("ws_1", "viewer")
    assert repo.workspace_role("usr_b", "acme") is None
    _, key = repo.create(user_id="usr_a", name="ws", scopes=["apps:read"], expires_at=None,
                         workspace_id="ws_1")
    verified = repo.verify(key)
    assert verified is not None and verified.roles == ("member", "viewer")
    with db.session() as session:
        session.execute(sa.delete(Membership))
    assert repo.verify(key) is None
