"""The database goes away under a running server: 503 + Retry-After, two log lines, recovery.

PostgreSQL is reached through a TCP proxy this test cuts (the shared server keeps
running); SQLite loses its directory (a fresh connection can no longer open the file).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from scopegate.server.app import create_app
from scopegate.server.ops.maintenance import maintenance
from scopegate.server.state import ServerState
from tcp_proxy import CuttableProxy

from .conftest import ISSUER, ClientFactory, fresh_database_url, settings_for
from .grants.flow import (
    PASSWORD,
    authorize_params,
    exchange,
    get_code,
    log_in_new_member,
    login,
    make_client,
    make_user,
    pkce_pair,
    refresh,
)

STARTED, ENDED = "database outage started", "database outage ended"


class Outage(Protocol):
    url: str

    def cut(self, state: ServerState) -> None: ...

    def restore(self) -> None: ...


class PostgresOutage:
    """The server talks to PostgreSQL through a proxy; cutting it is the database going down."""

    def __init__(self, direct_url: str) -> None:
        direct = sa.make_url(direct_url)
        self.proxy = CuttableProxy((direct.host or "127.0.0.1", direct.port or 5432))
        self.proxy.start()
        self.url = direct.set(port=self.proxy.port).render_as_string(hide_password=False)

    def cut(self, state: ServerState) -> None:
        self.proxy.cut()

    def restore(self) -> None:
        self.proxy.restore()


class SqliteOutage:
    """The database directory disappears (an unmounted volume); a new connection fails."""

    def __init__(self, tmp: Path) -> None:
        self.home, self.away = tmp / "db", tmp / "db-away"
        self.url = f"sqlite:///{self.home / 'scopegate.db'}"

    def cut(self, state: ServerState) -> None:
        self.home.rename(self.away)
        state.db.dispose()  # pooled connections keep the moved file open; new ones cannot

    def restore(self) -> None:
        self.away.rename(self.home)


@pytest.fixture(params=["sqlite", "postgres"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    if request.param == "sqlite":
        yield SqliteOutage(tmp_path)
        return
    for direct_url in fresh_database_url("postgres", request, tmp_path):
        pg = PostgresOutage(direct_url)
        yield pg
        pg.proxy.cut()


@pytest.fixture
def served(outage: Outage) -> Iterator[tuple[TestClient, ServerState]]:
    settings = settings_for(outage.url, issuer=ISSUER)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http, app.state.server


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["error_description"]


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    messages = [r.getMessage() for r in caplog.records]
    return messages.count(STARTED), messages.count(ENDED)


def test_every_database_endpoint_answers_503_then_recovers_by_itself(
        served: tuple[TestClient, ServerState], outage: Outage,
        caplog: pytest.LogCaptureFixture) -> None:
    http, state = served
    register = ClientFactory(state)
    token_client = register()  # never used yet: its lookup needs the database
    revoke_client = register()
    user = make_user(state)  # the pool now holds connections the outage breaks

    with caplog.at_level(logging.INFO):
        outage.cut(state)
        for _ in range(20):
            assert_unavailable(http.post("/oauth/token", auth=token_client,
                                         data={"grant_type": "client_credentials"}))
        assert_unavailable(http.post("/oauth/revoke", auth=revoke_client,
                                     data={"token": "whatever"}))
        page = login(http, user.email)
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert int(page.headers["retry-after"]) >= 1
        assert "temporarily unavailable" in page.text.lower()
        assert http.portal is not None
        http.portal.call(maintenance(state).run_once)  # the periodic pass stays quiet too
        assert outage_lines(caplog) == (1, 0)

        outage.restore()
        token = http.post("/oauth/token", auth=token_client,
                          data={"grant_type": "client_credentials"})
        assert token.status_code == 200, token.text
        assert http.post("/oauth/revoke", auth=revoke_client,
                         data={"token": "whatever"}).status_code == 200
        assert login(http, user.email, PASSWORD).status_code == 303

    assert outage_lines(caplog) == (1, 1)
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an outage"


def test_signed_in_surfaces_answer_503_then_recover(
        served: tuple[TestClient, ServerState], outage: Outage,
        caplog: pytest.LogCaptureFixture) -> None:
    http, state = served
    browser = log_in_new_member(http, state)
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(browser, client_id, scope="openid api")
    tokens = exchange(browser, client_id, code, verifier).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    _, challenge = pkce_pair()

    def authorize() -> httpx.Response:
        return browser.get("/oauth/authorize", follow_redirects=False,
                           params=authorize_params(client_id, challenge, scope="openid api"))

    with caplog.at_level(logging.INFO):
        outage.cut(state)
        assert_unavailable(http.get("/userinfo", headers=bearer))
        assert_unavailable(refresh(http, client_id, tokens["refresh_token"]))
        page = authorize()
        assert page.status_code == 503 and "temporarily unavailable" in page.text.lower()
        assert page.headers["x-frame-options"] == "DENY"  # still one of our pages
        outage.restore()
        assert http.get("/userinfo", headers=bearer).status_code == 200
        assert refresh(http, client_id, tokens["refresh_token"]).status_code == 200
        assert authorize().status_code == 302
    assert outage_lines(caplog) == (1, 1)
    assert not [r for r in caplog.records if r.exc_info]


def test_a_second_outage_is_logged_again(served: tuple[TestClient, ServerState],
                                         outage: Outage,
                                         caplog: pytest.LogCaptureFixture) -> None:
    http, state = served
    client = ClientFactory(state)()
    state.clients.ttl = 0  # every token request looks the client up
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            outage.cut(state)
            assert_unavailable(http.post("/oauth/token", auth=client,
                                         data={"grant_type": "client_credentials"}))
            outage.restore()
            assert http.post("/oauth/token", auth=client,
                             data={"grant_type": "client_credentials"}).status_code == 200
    assert outage_lines(caplog) == (2, 2)

