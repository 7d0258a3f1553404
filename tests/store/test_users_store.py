"""Users, workspaces, consents, codes and refresh tokens on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from scopegate.store import Database
from scopegate.store.models import utcnow
from scopegate.store.models.users import RefreshToken
from scopegate.store.repositories.authorization_codes import AuthorizationCodeRepository
from scopegate.store.repositories.clients import ClientRepository
from scopegate.store.repositories.device_codes import DeviceCodeRepository
from scopegate.store.repositories.refresh_tokens import NewRefreshToken, RefreshTokenRepository
from scopegate.store.repositories.users import AlreadyExists, ConsentRepository, UserRepository
from scopegate.store.repositories.workspaces import WorkspaceRepository


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def _client(db: Database) -> str:
    client_id = f"cl_{_uid()}"
    ClientRepository(db).create(client_id=client_id, name="t", secret_hash=None,
                                grant_types=["authorization_code"], allowed_scopes=["api"],
                                default_scopes=["api"], redirect_uris=["http://127.0.0.1/cb"])
    return client_id


def test_migration_creates_every_table_at_head(db: Database) -> None:
    assert db.current_revision() == "0002_interactive" or db.is_current()
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "workspaces", "memberships", "consents", "authorization_codes",
            "device_codes", "refresh_tokens"} <= names


def test_users_are_unique_by_email_in_any_case(db: Database) -> None:
    users = UserRepository(db)
    email = f"Ada.{_uid()}@Example.org"
    user = users.create(email=email, password_hash="h", role="member")
    assert user.id.startswith("usr_") and user.email == email.lower()
    assert "password_hash" not in repr(user)
    assert users.by_email(email.upper()) == user
    assert users.get(user.id) == user
    with pytest.raises(AlreadyExists):
        users.create(email=email.lower(), password_hash="h", role="member")
    with pytest.raises(ValueError):
        users.create(email="not-an-email", password_hash="h", role="member")
    assert users.by_email("nobody@nowhere.example") is None


def test_workspaces_and_memberships(db: Database) -> None:
    user = UserRepository(db).create(email=f"m{_uid()}@x.example", password_hash="h",
                                     role="member")
    spaces = WorkspaceRepository(db)
    ws = spaces.create(f"team-{_uid()}")
    with pytest.raises(AlreadyExists):
        spaces.create(ws.name)
    spaces.add_member(ws.id, user.id, "member")
    spaces.add_member(ws.id, user.id, "admin")
    assert [(m.user_id, m.role) for m in spaces.members(ws.id)] == [(user.id, "admin")]
    assert spaces.by_name(ws.name) == ws


def test_consent_accumulates_scopes(db: Database) -> None:
    user = UserRepository(db).create(email=f"c{_uid()}@x.example", password_hash="h",
                                     role="member")
    client_id = _client(db)
    consents = ConsentRepository(db)
    assert consents.granted(user.id, client_id) == frozenset()
    consents.grant(user.id, client_id, ["openid", "api"])
    assert consents.grant(user.id, client_id, ["apps:read"]) == {"openid", "api", "apps:read"}
    assert consents.granted(user.id, client_id) == {"openid", "api", "apps:read"}


def test_a_code_is_consumed_once(db: Database) -> None:
    user = UserRepository(db).create(email=f"k{_uid()}@x.example", password_hash="h",
                                     role="member")
    client_id = _client(db)
    codes = AuthorizationCodeRepository(db)
    now = utcnow()
    h = uuid.uuid4().hex
    codes.create(code_hash=h, client_id=client_id, user_id=user.id,
                 redirect_uri="http://127.0.0.1:1/cb", scopes=["api"], resources=[],
                 code_challenge="c" * 43, code_challenge_method="S256", nonce="n",
                 auth_time=now, expires_at=now + timedelta(seconds=60))
    first = codes.consume(h)
    second = codes.consume(h)
    assert first is not None and first.first_use
    assert second is not None and not second.first_use
    assert codes.consume("0" * 64) is None


def test_device_code_poll_slow_down_and_single_use(db: Database) -> None:
    client_id = _client(db)
    user = UserRepository(db).create(email=f"d{_uid()}@x.example", password_hash="h",
                                     role="member")
    devices = DeviceCodeRepository(db)
    now = utcnow()
    dh, uh = uuid.uuid4().hex, uuid.uuid4().hex
    devices.create(device_code_hash=dh, user_code_hash=uh, client_id=client_id,
                   scopes=["api"], resources=[], interval=5,
                   expires_at=now + timedelta(minutes=10))
    first = devices.poll(dh, now)
    assert first is not None and not first.too_fast
    fast = devices.poll(dh, now + timedelta(seconds=1))
    assert fast is not None and fast.too_fast and fast.record.interval == 10
    assert devices.decide(uh, user_id=user.id, approve=True, auth_time=now)
    assert not devices.decide(uh, user_id=user.id, approve=False, auth_time=now)
    assert devices.consume(dh) and not devices.consume(dh)


def test_refresh_rotation_and_family_revocation(db: Database) -> None:
    client_id = _client(db)
    user = UserRepository(db).create(email=f"r{_uid()}@x.example", password_hash="h",
                                     role="member")
    tokens = RefreshTokenRepository(db)
    now = utcnow()

    def new(h: str, jti: str) -> NewRefreshToken:
        return NewRefreshToken(token_hash=h, family_id="fam_1" + _uid(), client_id=client_id,
                               user_id=user.id, scopes=frozenset({"api"}), resources=(),
                               auth_time=now, expires_at=now + timedelta(days=1),
                               access_jti=jti, access_expires_at=now + timedelta(hours=1))

    first = new(uuid.uuid4().hex, "jti-1")
    tokens.add(first)
    second = dataclasses.replace(first, token_hash=uuid.uuid4().hex, access_jti="jti-2")
    assert tokens.rotate(first.token_hash, second)
    assert not tokens.rotate(first.token_hash, second)  # already rotated
    denied = tokens.revoke_family(first.family_id)
    assert sorted(jti for jti, _ in denied) == ["jti-1", "jti-2"]
    assert all(not t.live for t in tokens.family(first.family_id))


@pytest.fixture(scope="module")
def pg_db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    database.upgrade()
    yield database
    database.dispose()


def test_family_revocation_catches_a_successor_committed_while_it_waited(
        pg_db: Database) -> None:
    # A refresh holds its transaction open (parent rotated, successor inserted) while a
    # reuse revokes the family; once the refresh commits, the successor must be revoked
    # too, or the reuse would leave one live token behind (PostgreSQL READ COMMITTED;
    # SQLite serialises writers, so the interleaving cannot happen there).

    db = pg_db


    client_id = _client(db)
    user = UserRepository(db).create(email=f"w{_uid()}@x.example", password_hash="h",
                                     role="member")
    tokens = RefreshTokenRepository(db)
    now = utcnow()
    first = NewRefreshToken(token_hash=uuid.uuid4().hex, family_id="fam_w" + _uid(),
                            client_id=client_id, user_id=user.id, scopes=frozenset({"api"}),
                            resources=(), auth_time=now, expires_at=now + timedelta(days=1),
                            access_jti="jti-a", access_expires_at=now + timedelta(hours=1))
    tokens.add(first)
    successor = dataclasses.replace(first, token_hash=uuid.uuid4().hex, access_jti="jti-b")

    denied: list[list[tuple[str, object]]] = []
    with db.engine.connect() as refresh:  # the refresh, done by hand so it can pause
        transaction = refresh.begin()
        refresh.execute(sa.update(RefreshToken)
                        .where(RefreshToken.token_hash == first.token_hash)
                        .values(rotated_at=now))
        refresh.execute(sa.insert(RefreshToken).values(
            token_hash=successor.token_hash, family_id=successor.family_id,
            parent_hash=first.token_hash, client_id=client_id, user_id=user.id,
            scopes=["api"], resources=[], auth_time=now, access_jti="jti-b",
            access_expires_at=now + timedelta(hours=1), expires_at=successor.expires_at,
            created_at=now))
        reuse = threading.Thread(
            target=lambda: denied.append(tokens.revoke_family(first.family_id)))
        reuse.start()
        reuse.join(timeout=0.5)
        assert reuse.is_alive()  # blocked on the row the refresh holds
        transaction.commit()
    reuse.join(timeout=10)
    assert not reuse.is_alive()
    assert all(t.revoked_at is not None for t in tokens.family(first.family_id))
    assert sorted(jti for jti, _ in denied[0]) == ["jti-a", "jti-b"]
