"""Browser sessions are server-side records: logout, a password change, disabling the
user or the admin CLI ends them for every copy of the cookie; idle and absolute
lifetimes are enforced by the server, whatever the cookie says.

Over the real app (SQLite and PostgreSQL); the admin side runs the real CLI against the
same database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scopegate.cli.main import app as cli
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.pages.sessions import COOKIE_NAME
from scopegate.server.state import ServerState
from scopegate.store.models import utcnow

from ..grants.flow import (
    PASSWORD,
    authorize_params,
    exchange,
    get_code,
    hidden,
    login,
    make_client,
    make_user,
    open_browser,
    pkce_pair,
    redirect_query,
    refresh,
    token_claims,
)

IDLE = 30 * 60  # the defaults
ABSOLUTE = 12 * 3600


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def clock(state: ServerState) -> Iterator[list[timedelta]]:
    """Move the session clock forward: ``clock[0] += timedelta(...)`` (reset after)."""
    shift = [timedelta(0)]
    sessions = state.user_grants.sessions
    sessions.clock = lambda: utcnow() + shift[0]
    yield shift
    sessions.clock = utcnow


def _signed_in(browser: TestClient, state: ServerState) -> tuple[str, str]:
    """Log a new member in; return (their email, the session cookie's value)."""
    user = make_user(state)
    assert login(browser, user.email).status_code == 303
    cookie = browser.cookies.get(COOKIE_NAME)
    assert cookie
    return user.email, cookie


def _device(client: TestClient, cookie: str) -> httpx.Response:
    return client.get("/device", headers={"cookie": f"{COOKIE_NAME}={cookie}"},
                      follow_redirects=False)


def _admin(state: ServerState, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--database-url", state.settings.database_url],
                                input=f"{PASSWORD} but new\n",
                                env={"COLUMNS": "250", "SCOPEGATE_KEK": state.settings.kek or ""})
    return result.exit_code, result.stdout, result.stderr


def _logout(browser: TestClient) -> None:
    page = browser.get("/device")
    out = browser.post("/logout", data={"csrf": hidden(page.text, "csrf")},
                       follow_redirects=False)
    assert out.status_code == 303


def test_a_cookie_copied_before_logout_is_refused_at_device(
        browser: TestClient, app: Starlette, state: ServerState) -> None:
    _, stolen = _signed_in(browser, state)
    thief = TestClient(app, raise_server_exceptions=False)
    shown = _device(thief, stolen)
    assert shown.status_code == 200  # the copy works while the session lives
    csrf = hidden(shown.text, "csrf")
    _logout(browser)
    after = _device(thief, stolen)
    assert after.status_code == 302 and after.headers["location"].startswith("/login")
    posted = thief.post("/device", data={"csrf": csrf, "user_code": "BCDF-GHJK"},
                        headers={"cookie": f"{COOKIE_NAME}={stolen}"}, follow_redirects=False)
    assert posted.status_code == 403 and "Session expired" in posted.text


def test_a_cookie_copied_before_logout_is_refused_at_authorize(
        browser: TestClient, app: Starlette, state: ServerState) -> None:
    _, stolen = _signed_in(browser, state)
    client_id, _ = make_client(state)
    _, challenge = pkce_pair()
    thief = TestClient(app, raise_server_exceptions=False)
    cookie = {"cookie": f"{COOKIE_NAME}={stolen}"}
    before = thief.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                       headers=cookie, follow_redirects=False)
    assert before.status_code == 200  # the consent page: signed in
    _logout(browser)
    silent = thief.get("/oauth/authorize", headers=cookie, follow_redirects=False,
                       params=authorize_params(client_id, challenge, prompt="none"))
    assert redirect_query(silent)["error"] == "login_required"
    asked = thief.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                      headers=cookie, follow_redirects=False)
    assert asked.status_code == 302 and asked.headers["location"].startswith("/login")
    decided = thief.post("/oauth/authorize/decision", headers=cookie, data={
        "csrf": hidden(before.text, "csrf"), "request": hidden(before.text, "request"),
        "decision": "approve"}, follow_redirects=False)
    assert decided.status_code == 403


def test_signing_out_keeps_the_tokens_got_through_the_browser(
        browser: TestClient, state: ServerState) -> None:
    # As signing out of github.com leaves the gh CLI logged in: only ending the session
    # from the sessions list revokes them (tests/server/test_replicas_revocation.py).
    _signed_in(browser, state)
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(browser, client_id)
    tokens = exchange(browser, client_id, code, verifier).json()
    _logout(browser)
    refreshed = refresh(browser, client_id, tokens["refresh_token"])
    assert refreshed.status_code == 200
    sid = token_claims(tokens["access_token"])["sid"]
    assert token_claims(refreshed.json()["access_token"])["sid"] == sid


def test_logout_at_one_replica_ends_the_session_at_every_other(
        browser: TestClient, settings: Settings, state: ServerState) -> None:
    _, cookie = _signed_in(browser, state)
    replica = create_app(settings)  # another process on the same database
    with TestClient(replica, raise_server_exceptions=False) as other:
        assert _device(other, cookie).status_code == 200
        page = other.get("/device", headers={"cookie": f"{COOKIE_NAME}={cookie}"})
        out = other.post("/logout", data={"csrf": hidden(page.text, "csrf")},
                         headers={"cookie": f"{COOKIE_NAME}={cookie}"}, follow_redirects=False)
        assert out.status_code == 303
    assert _device(browser, cookie).status_code == 302


def test_a_new_login_replaces_the_previous_session(browser: TestClient,
                                                   state: ServerState) -> None:
    email, first = _signed_in(browser, state)
    assert login(browser, email).status_code == 303
    second = browser.cookies.get(COOKIE_NAME)
    assert second and second != first
    assert _device(browser, first).status_code == 302
    assert _device(browser, second).status_code == 200


def test_a_password_change_ends_every_session_of_that_user(
        app: Starlette, state: ServerState) -> None:
    email, cookie_a = _signed_in(TestClient(app), state)
    _, cookie_b = _signed_in(TestClient(app), state)  # someone else
    browser2 = TestClient(app)
    assert login(browser2, email).status_code == 303
    cookie_a2 = browser2.cookies.get(COOKIE_NAME)
    assert cookie_a2
    code, out, err = _admin(state, "users", "set-password", "--email", email,
                            "--password-stdin")
    assert code == 0, err
    assert "2 session(s) ended" in out
    probe = TestClient(app)
    assert _device(probe, cookie_a).status_code == 302
    assert _device(probe, cookie_a2).status_code == 302
    assert _device(probe, cookie_b).status_code == 200  # other users keep theirs
    assert login(browser2, email).status_code == 401
    assert login(browser2, email, PASSWORD + " but new").status_code == 303


def test_disabling_a_user_ends_their_sessions_and_refuses_login(
        app: Starlette, state: ServerState) -> None:
    browser = TestClient(app)
    email, cookie = _signed_in(browser, state)
    code, out, err = _admin(state, "users", "disable", "--email", email)
    assert code == 0, err
    assert "1 session(s) ended" in out
    assert _device(TestClient(app), cookie).status_code == 302
    refused = login(browser, email)
    assert refused.status_code == 403 and "disabled" in refused.text
    code, _, err = _admin(state, "users", "enable", "--email", email)
    assert code == 0, err
    assert login(browser, email).status_code == 303


def test_a_disabled_user_gets_no_tokens_from_a_code_or_a_refresh_token(
        app: Starlette, state: ServerState) -> None:
    browser = TestClient(app)
    email, _ = _signed_in(browser, state)
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(browser, client_id, scope="openid api offline_access")
    tokens = exchange(browser, client_id, code, verifier).json()
    late_code, late_verifier, _ = get_code(browser, client_id)
    assert _admin(state, "users", "disable", "--email", email)[0] == 0
    for answer in (refresh(browser, client_id, tokens["refresh_token"]),
                   exchange(browser, client_id, late_code, late_verifier)):
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    userinfo = browser.get("/userinfo",
                           headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 401
    assert _admin(state, "users", "enable", "--email", email)[0] == 0
    assert refresh(browser, client_id, tokens["refresh_token"]).status_code == 200


def test_idle_sessions_expire_and_activity_keeps_them(
        browser: TestClient, state: ServerState, clock: list[timedelta]) -> None:
    _, cookie = _signed_in(browser, state)
    clock[0] += timedelta(seconds=IDLE - 60)
    assert _device(browser, cookie).status_code == 200  # seen: the idle timer restarts
    clock[0] += timedelta(seconds=IDLE - 60)
    assert _device(browser, cookie).status_code == 200
    clock[0] += timedelta(seconds=IDLE + 1)
    assert _device(browser, cookie).status_code == 302


def test_the_absolute_lifetime_ends_even_an_active_session(
        browser: TestClient, state: ServerState, clock: list[timedelta]) -> None:
    _, cookie = _signed_in(browser, state)
    while clock[0] < timedelta(seconds=ABSOLUTE - IDLE):
        clock[0] += timedelta(seconds=IDLE - 60)
        assert _device(browser, cookie).status_code == 200
    clock[0] = timedelta(seconds=ABSOLUTE - 60)
    assert _device(browser, cookie).status_code == 200
    clock[0] = timedelta(seconds=ABSOLUTE + 1)  # seen a minute ago, but 12 h are up
    assert _device(browser, cookie).status_code == 302


def test_the_idle_lifetime_is_a_setting(settings: Settings) -> None:
    shorter = Settings.from_env(env={"SCOPEGATE_SESSION_IDLE_TTL": "120"},
                                database_url=settings.database_url, issuer=settings.issuer,
                                kek=settings.kek)
    app = create_app(shorter)
    with TestClient(app, raise_server_exceptions=False) as browser:
        state: ServerState = app.state.server
        signed_in = login(browser, make_user(state).email)
        assert signed_in.status_code == 303
        assert f"Max-Age={ABSOLUTE}" in signed_in.headers["set-cookie"]
        cookie = browser.cookies.get(COOKIE_NAME)
        assert cookie
        sessions = state.user_grants.sessions
        sessions.clock = lambda: utcnow() + timedelta(seconds=100)
        assert _device(browser, cookie).status_code == 200
        sessions.clock = lambda: utcnow() + timedelta(seconds=221)
        assert _device(browser, cookie).status_code == 302


def _listed(state: ServerState, email: str) -> list[dict[str, str]]:
    code, out, err = _admin(state, "users", "sessions", "--email", email, "--json")
    assert code == 0, err
    listed: list[dict[str, str]] = json.loads(out)
    return listed


def test_last_seen_is_written_at_most_once_a_minute(
        browser: TestClient, state: ServerState, clock: list[timedelta]) -> None:
    email, cookie = _signed_in(browser, state)
    [first] = _listed(state, email)
    clock[0] += timedelta(seconds=30)
    assert _device(browser, cookie).status_code == 200
    assert _listed(state, email)[0]["last_seen_at"] == first["last_seen_at"]
    clock[0] += timedelta(seconds=31)
    assert _device(browser, cookie).status_code == 200
    assert _listed(state, email)[0]["last_seen_at"] > first["last_seen_at"]


def test_an_admin_lists_and_ends_a_users_sessions(app: Starlette,
                                                  state: ServerState) -> None:
    browser = TestClient(app, headers={"user-agent": "TestBrowser/1.0"})
    email, first = _signed_in(browser, state)
    second_browser = TestClient(app)
    assert login(second_browser, email).status_code == 303
    second = second_browser.cookies.get(COOKIE_NAME)
    assert second
    listed = _listed(state, email)
    assert len(listed) == 2
    assert all(re.fullmatch(r"ses_[0-9a-f]{24}", s["id"]) for s in listed)
    assert {"created_at", "last_seen_at", "expires_at", "client_ip", "user_agent"} <= set(
        listed[0])
    assert "TestBrowser/1.0" in {s["user_agent"] for s in listed}
    assert first not in json.dumps(listed) and second not in json.dumps(listed)
    code, out, _ = _admin(state, "users", "sessions", "--email", email)
    assert code == 0 and all(s["id"] in out for s in listed)

    by_agent = next(s["id"] for s in listed if s["user_agent"] == "TestBrowser/1.0")
    code, out, err = _admin(state, "users", "end-sessions", "--email", email,
                            "--session", by_agent)
    assert code == 0 and "1 session(s) ended" in out, err
    probe = TestClient(app)
    assert _device(probe, first).status_code == 302
    assert _device(probe, second).status_code == 200
    code, _, err = _admin(state, "users", "end-sessions", "--email", email,
                          "--session", by_agent)
    assert code == 1 and "no session" in err
    code, out, err = _admin(state, "users", "end-sessions", "--email", email, "--json")
    assert code == 0 and json.loads(out) == {"ended": 1}, err
    assert _device(probe, second).status_code == 302
    assert _listed(state, email) == []


def test_expired_sessions_are_pruned_by_the_maintenance_pass(
        browser: TestClient, state: ServerState) -> None:
    import asyncio

    from scopegate.server.ops.maintenance import maintenance

    email, _ = _signed_in(browser, state)
    assert len(_listed(state, email)) == 1
    asyncio.run(maintenance(state).run_once())
    assert len(_listed(state, email)) == 1  # live: kept
    report = asyncio.run(_prune_later(state, IDLE + 5))
    assert report >= 1
    assert _listed(state, email) == []


async def _prune_later(state: ServerState, seconds: int) -> int:
    from starlette.concurrency import run_in_threadpool

    from scopegate.server.ops.maintenance import prune_expired

    report = await run_in_threadpool(prune_expired, state.db,
                                     now=utcnow() + timedelta(seconds=seconds))
    return report.pruned["user_sessions"]
