"""Device flow (RFC 8628): authorization, the verification page, polling answers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.admin.sessions import end_sessions, list_sessions
from scopegate.server.shared.user_grants import hash_secret
from scopegate.server.state import ServerState
from scopegate.store.models import DeviceCode
from scopegate.store.repositories.users import UserRepository

from ..grants.flow import (
    DEVICE,
    hidden,
    log_in_new_member,
    make_client,
    open_browser,
    refresh,
    token_claims,
)


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def _start(http: TestClient, client_id: str, **form: str) -> Any:
    return http.post("/oauth/device_authorization", data={"client_id": client_id, **form})


def _poll(http: TestClient, client_id: str, device_code: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": DEVICE, "client_id": client_id,
                                           "device_code": device_code})


def _forget_last_poll(state: ServerState) -> None:
    """Pretend the interval has passed since the last poll."""
    with state.db.session() as session:
        session.execute(sa.update(DeviceCode).values(last_polled_at=None))


def _enter(browser: TestClient, user_code: str) -> Any:
    page = browser.get("/device", params={"user_code": user_code})
    assert page.status_code == 200
    return browser.post("/device", data={"csrf": hidden(page.text, "csrf"),
                                         "user_code": hidden(page.text, "user_code")})


def _decide(browser: TestClient, confirm: Any, decision: str) -> Any:
    """Press Allow or Deny: every hidden field of the page's form, as a browser sends it."""
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', confirm.text))
    return browser.post("/device", data={**fields, "decision": decision})


def test_device_authorization_response(http: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    response = _start(http, client_id, scope="openid api")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"device_code", "user_code", "verification_uri",
                         "verification_uri_complete", "expires_in", "interval"}
    code = body["user_code"]
    assert len(code) == 9 and code[4] == "-" and set(code) - {"-"} <= set("BCDFGHJKLMNPQRSTVWXZ")
    assert body["verification_uri"] == "http://testserver/device"
    assert body["verification_uri_complete"].endswith(f"?user_code={code}")
    assert body["interval"] == 5 and body["expires_in"] == 600


@pytest.mark.parametrize(("form", "grants", "status", "error"), [
    ({"scope": "no-such"}, None, 400, "invalid_scope"),
    ({"scope": "keys:write"}, None, 400, "invalid_scope"),
    ({"resource": "https://unknown.example"}, None, 400, "invalid_target"),
    ({}, ("authorization_code",), 400, "unauthorized_client"),
    ({"client_id": "unknown"}, None, 401, "invalid_client"),
])
def test_device_authorization_refusals(http: TestClient, state: ServerState,
                                       form: dict[str, str], grants: tuple[str, ...] | None,
                                       status: int, error: str) -> None:
    client_id, _ = make_client(state, **({"grants": grants} if grants else {}))
    response = http.post("/oauth/device_authorization", data={"client_id": client_id, **form})
    assert response.status_code == status and response.json()["error"] == error


def test_approved_device_gets_tokens_once(logged_in: TestClient, http: TestClient,
                                          state: ServerState) -> None:
    client_id, _ = make_client(state)
    body = _start(http, client_id, scope="openid api").json()
    first = _poll(http, client_id, body["device_code"])
    assert first.status_code == 400 and first.json()["error"] == "authorization_pending"
    fast = _poll(http, client_id, body["device_code"])
    assert fast.json()["error"] == "slow_down"
    with state.db.session() as session:
        interval = session.scalar(sa.select(DeviceCode.interval).where(
            DeviceCode.device_code_hash == hash_secret(body["device_code"])))
    assert interval == 10  # RFC 8628 §3.5: slow_down adds 5 seconds
    confirm = _enter(logged_in, body["user_code"].lower().replace("-", " "))
    assert confirm.status_code == 200 and "Test CLI" in confirm.text
    assert "Call the example API on your behalf" in confirm.text
    done = _decide(logged_in, confirm, "approve")
    assert "Device connected" in done.text
    _forget_last_poll(state)
    tokens = _poll(http, client_id, body["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens.json())
    _forget_last_poll(state)
    again = _poll(http, client_id, body["device_code"])
    assert again.json()["error"] == "invalid_grant"


def _approved(browser: TestClient, http: TestClient, state: ServerState,
              client_id: str) -> str:
    """Start a device authorization and approve it in ``browser``; the device code."""
    body = _start(http, client_id, scope="openid api").json()
    assert "Device connected" in _decide(browser, _enter(browser, body["user_code"]),
                                         "approve").text
    _forget_last_poll(state)
    return str(body["device_code"])


def test_a_device_approved_in_a_session_loses_its_grant_when_that_session_ends(
        logged_in: TestClient, http: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    tokens = _poll(http, client_id, _approved(logged_in, http, state, client_id)).json()
    sid = token_claims(tokens["access_token"])["sid"]
    assert token_claims(tokens["id_token"])["sid"] == sid
    user = UserRepository(state.db).get(token_claims(tokens["access_token"])["sub"])
    assert user is not None and [s.id for s in list_sessions(state.db, user)] == [sid]
    not_collected = _approved(logged_in, http, state, client_id)
    assert end_sessions(state.db, user, sid) == 1
    assert refresh(http, client_id, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _poll(http, client_id, not_collected).json()["error"] == "invalid_grant"


def test_denied_device_gets_access_denied(logged_in: TestClient, http: TestClient,
                                          state: ServerState) -> None:
    client_id, _ = make_client(state)
    body = _start(http, client_id).json()
    done = _decide(logged_in, _enter(logged_in, body["user_code"]), "deny")
    assert "Request denied" in done.text
    denied = _poll(http, client_id, body["device_code"])
    assert denied.status_code == 400 and denied.json()["error"] == "access_denied"


def test_expired_and_foreign_device_codes(http: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    other, _ = make_client(state)
    body = _start(http, client_id).json()
    assert _poll(http, other, body["device_code"]).json()["error"] == "invalid_grant"
    assert _poll(http, client_id, "nope").json()["error"] == "invalid_grant"
    missing = http.post("/oauth/token", data={"grant_type": DEVICE, "client_id": client_id})
    assert missing.json()["error"] == "invalid_request"
    with state.db.session() as session:
        session.execute(sa.update(DeviceCode).values(expires_at=DeviceCode.created_at))
    assert _poll(http, client_id, body["device_code"]).json()["error"] == "expired_token"


def test_verification_page_needs_login(browser: TestClient) -> None:
    response = browser.get("/device", params={"user_code": "BCDF-GHJK"},
                           follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login?next=%2Fdevice")


def test_wrong_codes_are_refused_then_rate_limited(logged_in: TestClient,
                                                   state: ServerState) -> None:
    limits = state.user_grants.limits
    page = logged_in.get("/device")
    csrf = hidden(page.text, "csrf")
    bad = logged_in.post("/device", data={"csrf": csrf, "user_code": "BCDF-GHJK"})
    assert bad.status_code == 400 and "not valid" in bad.text
    junk = logged_in.post("/device", data={"csrf": csrf, "user_code": "AEIOU"})
    assert junk.status_code == 400
    forged = logged_in.post("/device", data={"csrf": "x", "user_code": "BCDF-GHJK"})
    assert forged.status_code == 403
    statuses = [logged_in.post("/device", data={"csrf": csrf, "user_code": "BCDF-GHJK"})
                .status_code for _ in range(limits.code_lookups_per_session)]
    assert statuses[-1] == 429


_addresses = itertools.count(1)


@pytest.fixture
def elsewhere(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    """A logged-in browser at an address of its own (its wrong codes are its own)."""
    with closing(TestClient(app, raise_server_exceptions=False,
                            client=(f"192.0.2.{next(_addresses)}", 40000))) as browser:
        yield log_in_new_member(browser, state)


def _wrong_codes(browser: TestClient, csrf: str, count: int) -> list[int]:
    return [browser.post("/device", data={"csrf": csrf, "user_code": "BCDF-GHJK"}).status_code
            for _ in range(count)]


def test_the_right_code_and_allow_are_not_guesses(elsewhere: TestClient, http: TestClient,
                                                  state: ServerState) -> None:
    limits = state.user_grants.limits
    client_id, _ = make_client(state)
    body = _start(http, client_id).json()
    csrf = hidden(elsewhere.get("/device").text, "csrf")
    wrong = _wrong_codes(elsewhere, csrf, limits.code_lookups_per_session - 1)
    assert wrong == [400] * (limits.code_lookups_per_session - 1)
    confirm = _enter(elsewhere, body["user_code"])
    assert confirm.status_code == 200
    done = _decide(elsewhere, confirm, "approve")
    assert done.status_code == 200 and "Device connected" in done.text


def test_allow_on_a_shown_page_works_while_wrong_codes_must_wait(
        elsewhere: TestClient, http: TestClient, state: ServerState) -> None:
    limits = state.user_grants.limits
    client_id, _ = make_client(state)
    body = _start(http, client_id).json()
    confirm = _enter(elsewhere, body["user_code"])
    assert confirm.status_code == 200
    csrf = hidden(confirm.text, "csrf")
    statuses = _wrong_codes(elsewhere, csrf, limits.code_lookups_per_session + 1)
    assert statuses[-1] == 429
    # The page's proof names its own code: with another code it is just another guess.
    other = elsewhere.post("/device", data={"csrf": csrf, "user_code": "BCDF-GHJK",
                                            "confirm": hidden(confirm.text, "confirm")
                                            if 'name="confirm"' in confirm.text else "",
                                            "decision": "approve"})
    assert other.status_code == 429 and int(other.headers["retry-after"]) >= 1
    assert "Try again in" in other.text
    done = _decide(elsewhere, confirm, "approve")
    assert done.status_code == 200 and "Device connected" in done.text
    _forget_last_poll(state)
    assert _poll(http, client_id, body["device_code"]).status_code == 200


def test_role_that_cannot_hold_the_scopes_denies(browser: TestClient, http: TestClient,
                                                 state: ServerState) -> None:
    log_in_new_member(browser, state, role="viewer")
    client_id, _ = make_client(state)
    body = _start(http, client_id, scope="apps:run").json()
    done = _decide(browser, _enter(browser, body["user_code"]), "approve")
    assert done.status_code == 403 and "invalid_scope" in done.text
    assert _poll(http, client_id, body["device_code"]).json()["error"] == "access_denied"
