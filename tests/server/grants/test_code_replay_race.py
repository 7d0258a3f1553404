"""A code replayed while its first exchange is still minting tokens revokes them too.

The race is made deterministic by pausing the first exchange inside the real repository,
after it minted its tokens and before it records them on the code; the replay runs in
that gap. Real app, real database (SQLite and PostgreSQL), no mocks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.state import ServerState
from scopegate.store.models import AuthorizationCode, RefreshToken, RevokedToken
from scopegate.store.repositories.authorization_codes import AuthorizationCodeRepository

from .flow import exchange, get_code, log_in_new_member, make_client, open_browser, refresh

WAIT_S = 20.0


class PausedBeforeRecording(AuthorizationCodeRepository):
    """The real repository, with a barrier just before an exchange records its tokens."""

    def __init__(self, inner: AuthorizationCodeRepository) -> None:
        super().__init__(inner.db)
        self.minted = threading.Event()
        self.resume = threading.Event()

    def record_tokens(self, code_hash: str, *, refresh_family_id: str | None,
                      access_jti: str | None, access_expires_at: datetime | None) -> bool:
        self.minted.set()
        assert self.resume.wait(WAIT_S), "the test never let the exchange go on"
        return super().record_tokens(code_hash, refresh_family_id=refresh_family_id,
                                     access_jti=access_jti,
                                     access_expires_at=access_expires_at)


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


@pytest.fixture
def paused(state: ServerState) -> Iterator[PausedBeforeRecording]:
    services = state.user_grants
    original = services.codes
    services.codes = PausedBeforeRecording(original)
    try:
        yield services.codes
    finally:
        services.codes.resume.set()
        services.codes = original


def _code_row(state: ServerState, client_id: str) -> AuthorizationCode:
    with state.db.session() as session:
        row = session.scalars(sa.select(AuthorizationCode)
                              .where(AuthorizationCode.client_id == client_id)).one()
        session.expunge(row)
        return row


def _family_rows(state: ServerState, client_id: str) -> list[RefreshToken]:
    with state.db.session() as session:
        rows = list(session.scalars(sa.select(RefreshToken)
                                    .where(RefreshToken.client_id == client_id)))
        session.expunge_all()
        return rows


def _denied(state: ServerState, jti: str) -> bool:
    with state.db.session() as session:
        return session.get(RevokedToken, jti) is not None


def test_replay_between_minting_and_recording_revokes_what_was_minted(
        logged_in: TestClient, state: ServerState, paused: PausedBeforeRecording) -> None:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(exchange, logged_in, client_id, code, verifier)
        assert paused.minted.wait(WAIT_S), first.result() if first.done() else "no exchange"
        # The first exchange has written its refresh token but not recorded it on the code.
        [minted] = _family_rows(state, client_id)
        assert minted.revoked_at is None and _code_row(state, client_id).access_jti is None

        replay = exchange(logged_in, client_id, code, verifier)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert _code_row(state, client_id).replayed_at is not None

        paused.resume.set()
        answer = first.result(timeout=WAIT_S)

    # The first exchange saw the replay: it hands out nothing and revokes what it minted.
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "authorization code already used; "
                                                  "its tokens are revoked"}
    assert "access_token" not in answer.text and "refresh_token" not in answer.text
    [row] = _family_rows(state, client_id)
    assert row.revoked_at is not None
    assert row.access_jti is not None and _denied(state, row.access_jti)
    assert _code_row(state, client_id).access_jti is None  # nothing recorded after a replay


def test_replay_after_recording_revokes_the_recorded_tokens(
        logged_in: TestClient, state: ServerState, paused: PausedBeforeRecording) -> None:
    """The other order: the exchange records first, the replay then finds and revokes."""
    paused.resume.set()
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id)
    first: dict[str, Any] = exchange(logged_in, client_id, code, verifier).json()
    recorded = _code_row(state, client_id)
    assert recorded.access_jti is not None and recorded.refresh_family_id is not None
    assert not _denied(state, recorded.access_jti)

    replay = exchange(logged_in, client_id, code, verifier)
    assert replay.json()["error"] == "invalid_grant"
    assert _denied(state, recorded.access_jti)
    assert refresh(logged_in, client_id, first["refresh_token"]).json()["error"] == \
        "invalid_grant"
    assert all(r.revoked_at is not None for r in _family_rows(state, client_id))


def test_replays_keep_the_time_of_the_first_replay(
        logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id)
    assert exchange(logged_in, client_id, code, verifier).status_code == 200
    assert _code_row(state, client_id).replayed_at is None
    exchange(logged_in, client_id, code, verifier)
    first_replay = _code_row(state, client_id).replayed_at
    exchange(logged_in, client_id, code, verifier)
    assert first_replay is not None and _code_row(state, client_id).replayed_at == first_replay
