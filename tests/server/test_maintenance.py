"""The maintenance pass deletes what has expired, keeps what is live, counts and logs it.

Runs against the real server state on SQLite and PostgreSQL; rows are written straight
into the store with expiry times an hour in the past or the future.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from scopegate.server.ops.maintenance import Maintenance, maintenance, prune_expired
from scopegate.server.state import ServerState
from scopegate.store import Database
from scopegate.store.models import (
    ApiKey,
    AuthorizationCode,
    Client,
    Consent,
    DeviceCode,
    PushedRequest,
    RefreshToken,
    RevokedToken,
    User,
    UserSession,
    utcnow,
)

NOW = utcnow()
PAST = NOW - timedelta(hours=1)
FUTURE = NOW + timedelta(hours=1)


def _id() -> str:
    return uuid.uuid4().hex


class Seed:
    """Writes rows of every pruned table into one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.user, self.client = f"usr_{_id()[:12]}", f"cli_{_id()[:12]}"
        with db.session() as session:
            session.add(User(id=self.user, email=f"{self.user}@example.org",
                             password_hash="x", role="member"))
            session.add(Client(client_id=self.client, name="seed", secret_hash=None,
                               is_public=True, grant_types=["authorization_code"],
                               redirect_uris=[], allowed_scopes=["api"],
                               default_scopes=["api"]))

    def add(self, row: Any) -> None:
        with self.db.session() as session:
            session.add(row)

    def code(self, expires_at: datetime, access_expires_at: datetime | None = None) -> str:
        key = _id()
        self.add(AuthorizationCode(
            code_hash=key, client_id=self.client, user_id=self.user,
            redirect_uri="http://127.0.0.1/cb", scopes=["api"], resources=[],
            code_challenge="c" * 43, code_challenge_method="S256", nonce=None,
            auth_time=PAST, expires_at=expires_at,
            used_at=PAST if access_expires_at else None, access_jti=_id()[:20],
            access_expires_at=access_expires_at))
        return key

    def device(self, expires_at: datetime) -> str:
        key = _id()
        self.add(DeviceCode(device_code_hash=key, user_code_hash=_id(), client_id=self.client,
                            scopes=["api"], resources=[], interval=5, expires_at=expires_at))
        return key

    def family(self, *expiries: datetime) -> list[str]:
        family, keys = f"fam_{_id()[:12]}", []
        for expires_at in expiries:
            keys.append(_id())
            self.add(RefreshToken(
                token_hash=keys[-1], family_id=family, client_id=self.client,
                user_id=self.user, scopes=["api"], resources=[], auth_time=PAST,
                expires_at=expires_at, rotated_at=PAST if len(keys) < len(expiries) else None))
        return keys

    def revoked(self, expires_at: datetime) -> str:
        key = _id()[:32]
        self.add(RevokedToken(jti=key, expires_at=expires_at))
        return key

    def rotated_key(self, grace_until: datetime) -> str:
        key = _id()[:16]
        self.add(ApiKey(id=key, user_id=self.user, name=key, prefix="sg", key_hash="0" * 64,
                        previous_hash="1" * 64, previous_expires_at=grace_until,
                        scopes=["apps:read"]))
        return key

    def session(self, expires_at: datetime) -> str:
        key = f"ses_{_id()[:24]}"
        self.add(UserSession(id=key, token_hash=_id() + _id(), user_id=self.user,
                             last_seen_at=PAST, expires_at=expires_at))
        return key

    def pushed(self, expires_at: datetime) -> str:
        key = _id() + _id()
        self.add(PushedRequest(request_hash=key[:64], client_id=self.client,
                               params={"response_type": "code"}, expires_at=expires_at))
        return key[:64]

    def consent(self) -> None:
        self.add(Consent(user_id=self.user, client_id=self.client, scopes=["api"],
                         updated_at=NOW))

    def orphan_consent(self) -> str:
        """A consent whose user is gone: only possible with foreign keys switched off."""
        ghost = f"usr_{_id()[:12]}"
        insert = sa.insert(Consent).values(user_id=ghost, client_id=self.client,
                                           scopes=["api"], updated_at=NOW)
        with self.db.engine.connect() as conn:
            if self.db.is_sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.execute(insert)
                conn.commit()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            else:
                conn.exec_driver_sql("SET session_replication_role = replica")
                conn.execute(insert)
                conn.exec_driver_sql("SET session_replication_role = DEFAULT")
                conn.commit()
        return ghost


def _exists(db: Database, model: Any, key: Any) -> bool:
    with db.session() as session:
        return session.get(model, key) is not None


@pytest.fixture
def clean(state: ServerState) -> Iterator[Seed]:
    """A seed on a database with nothing left to prune."""
    while not prune_expired(state.db).complete:
        pass
    yield Seed(state.db)


def test_a_pass_deletes_expired_rows_and_keeps_live_ones(
        clean: Seed, state: ServerState) -> None:
    db = state.db
    dead_code, used_dead = clean.code(PAST), clean.code(PAST, access_expires_at=PAST)
    used_live, live_code = clean.code(PAST, access_expires_at=FUTURE), clean.code(FUTURE)
    dead_device, live_device = clean.device(PAST), clean.device(FUTURE)
    dead_family = clean.family(PAST, PAST)
    live_family = clean.family(FUTURE, FUTURE)  # rotated but unexpired: reuse detection
    old_rotated, newest = clean.family(PAST, FUTURE)  # only the expired rotated one goes
    dead_jti, live_jti = clean.revoked(PAST), clean.revoked(FUTURE)
    past_grace, in_grace = clean.rotated_key(PAST), clean.rotated_key(FUTURE)
    clean.consent()
    ghost = clean.orphan_consent()
    dead_session, live_session = clean.session(PAST), clean.session(FUTURE)
    dead_pushed, live_pushed = clean.pushed(PAST), clean.pushed(FUTURE)

    report = asyncio.run(maintenance(state).run_once())

    assert report is not None and report.complete
    assert dict(report.pruned) == {"authorization_codes": 2, "device_codes": 1,
                                   "refresh_tokens": 3, "revoked_tokens": 1, "api_keys": 1,
                                   "consents": 1, "user_sessions": 1, "clients": 0,
                                   "pushed_authorization_requests": 1}
    assert not _exists(db, PushedRequest, dead_pushed) and _exists(db, PushedRequest,
                                                                    live_pushed)
    assert not _exists(db, AuthorizationCode, dead_code)
    assert not _exists(db, AuthorizationCode, used_dead)
    assert _exists(db, AuthorizationCode, used_live)  # its access token can still be revoked
    assert _exists(db, AuthorizationCode, live_code)
    assert not _exists(db, DeviceCode, dead_device) and _exists(db, DeviceCode, live_device)
    assert not any(_exists(db, RefreshToken, key) for key in dead_family)
    assert all(_exists(db, RefreshToken, key) for key in live_family)
    assert not _exists(db, RefreshToken, old_rotated) and _exists(db, RefreshToken, newest)
    assert not _exists(db, RevokedToken, dead_jti) and _exists(db, RevokedToken, live_jti)
    with db.session() as session:
        cleared, kept = session.get(ApiKey, past_grace), session.get(ApiKey, in_grace)
        assert cleared is not None and cleared.previous_hash is None
        assert cleared.previous_expires_at is None and cleared.key_hash == "0" * 64
        assert kept is not None and kept.previous_hash == "1" * 64
    assert not _exists(db, Consent, (ghost, clean.client))
    assert not _exists(db, UserSession, dead_session)
    assert _exists(db, UserSession, live_session)
    assert _exists(db, Consent, (clean.user, clean.client))


def test_pruned_rows_are_counted_in_metrics_and_logged_once_per_pass(
        clean: Seed, state: ServerState, http: TestClient,
        caplog: pytest.LogCaptureFixture) -> None:
    def counted(table: str) -> float:
        text = http.get("/metrics").text
        line = next(line for line in text.splitlines()
                    if line.startswith(f'scopegate_pruned_rows_total{{table="{table}"}}'))
        return float(line.rsplit(" ", 1)[1])

    before = {table: counted(table) for table in ("device_codes", "revoked_tokens")}
    clean.device(PAST)
    clean.device(PAST)
    clean.revoked(PAST)
    with caplog.at_level(logging.INFO, logger="scopegate.server"):
        asyncio.run(maintenance(state).run_once())
        asyncio.run(maintenance(state).run_once())  # nothing left: no second line
    assert counted("device_codes") == before["device_codes"] + 2
    assert counted("revoked_tokens") == before["revoked_tokens"] + 1
    lines = [r for r in caplog.records if r.getMessage() == "pruned expired rows"]
    assert len(lines) == 1
    assert lines[0].__dict__["pruned"] == {"device_codes": 2, "revoked_tokens": 1}


def test_each_pass_is_bounded_and_the_next_one_goes_on(clean: Seed,
                                                       state: ServerState) -> None:
    for _ in range(5):
        clean.device(PAST)
    first = prune_expired(state.db, batch_size=2, max_batches=2)
    assert first.pruned["device_codes"] == 4 and not first.complete
    second = prune_expired(state.db, batch_size=2, max_batches=2)
    assert second.pruned["device_codes"] == 1 and second.complete


def test_the_periodic_loop_runs_the_pass(clean: Seed, state: ServerState) -> None:
    expired = clean.device(PAST)
    loop = maintenance(state)
    assert isinstance(loop, Maintenance) and loop.interval == 60.0  # the server's cadence
    loop.interval = 0.01
    try:
        with pytest.raises(TimeoutError):
            asyncio.run(asyncio.wait_for(loop.run_forever(), timeout=0.5))
    finally:
        loop.interval = 60.0
    assert not _exists(state.db, DeviceCode, expired)


def test_a_failing_key_reload_does_not_stop_pruning(
        clean: Seed, state: ServerState, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("database went away")

    expired = clean.device(PAST)
    monkeypatch.setattr(state.signing_keys, "reload", broken)
    with caplog.at_level(logging.ERROR, logger="scopegate.server"):
        report = asyncio.run(maintenance(state).run_once())
    assert report is not None and report.pruned["device_codes"] == 1
    assert not _exists(state.db, DeviceCode, expired)
    assert any("reloading signing keys failed" in r.getMessage() for r in caplog.records)
