"""max_age and acr_values at the authorization endpoint (OIDC Core §3.1.2.1, RFC 9470):
an old sign-in is asked for the password again through the real login page, and the
tokens say when and how the user signed in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.state import ServerState
from scopegate.store.models import utcnow

from ..grants.flow import (
    PASSWORD,
    authorize_params,
    exchange,
    hidden,
    make_client,
    make_user,
    open_browser,
    pkce_pair,
    redirect_query,
)

ACR = "urn:scopegate:acr:password"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)
    state.user_grants.sessions.clock = utcnow


def _claims(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _sign_in(browser: TestClient, email: str, next_path: str) -> httpx.Response:
    form = browser.get("/login", params={"next": next_path})
    return browser.post("/login", data={"csrf": hidden(form.text, "csrf"), "email": email,
                                        "password": PASSWORD, "next": next_path},
                        follow_redirects=False)


def _authorize(browser: TestClient, client_id: str, challenge: str,
               **extra: str) -> httpx.Response:
    return browser.get("/oauth/authorize", params=authorize_params(client_id, challenge,
                                                                   **extra),
                       follow_redirects=False)


def _consented(browser: TestClient, state: ServerState) -> tuple[str, str]:
    """A signed-in browser whose user already consented to the client: (client, email)."""
    client_id, _ = make_client(state)
    user = make_user(state)
    assert _sign_in(browser, user.email, "/").status_code == 303
    _, challenge = pkce_pair()
    page = _authorize(browser, client_id, challenge)
    browser.post("/oauth/authorize/decision", data={
        "csrf": hidden(page.text, "csrf"), "request": hidden(page.text, "request"),
        "decision": "approve"}, follow_redirects=False)
    return client_id, user.email


def test_an_old_sign_in_is_asked_for_the_password_again(browser: TestClient,
                                                        state: ServerState) -> None:
    client_id, email = _consented(browser, state)
    signed_in_at = int(utcnow().timestamp())
    later = utcnow() + timedelta(seconds=400)
    state.user_grants.sessions.clock = lambda: later
    verifier, challenge = pkce_pair()
    recent = _authorize(browser, client_id, challenge, max_age="3600")
    assert "code" in redirect_query(recent)  # 400 s old is recent enough for an hour
    to_login = _authorize(browser, client_id, challenge, max_age="300")
    assert urlsplit(to_login.headers["location"]).path == "/login"
    back = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
    assert _sign_in(browser, email, back).status_code == 303
    query = redirect_query(browser.get(back, follow_redirects=False))
    body = exchange(browser, client_id, query["code"], verifier).json()
    access, id_token = _claims(body["access_token"]), _claims(body["id_token"])
    assert access["acr"] == id_token["acr"] == ACR
    assert access["auth_time"] == id_token["auth_time"] == int(later.timestamp())
    assert int(later.timestamp()) - signed_in_at >= 400
    refreshed = browser.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": client_id}).json()
    assert _claims(refreshed["access_token"])["auth_time"] == access["auth_time"]


def test_max_age_zero_asks_once_and_never_loops(browser: TestClient,
                                                state: ServerState) -> None:
    client_id, email = _consented(browser, state)
    _, challenge = pkce_pair()
    to_login = _authorize(browser, client_id, challenge, max_age="0")
    back = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
    assert "max_age=0" in back
    forged = back.replace("sg_login=", "sg_login=x")
    assert urlsplit(browser.get(forged, follow_redirects=False).headers["location"]).path \
        == "/login"  # a forged mark proves nothing
    assert _sign_in(browser, email, back).status_code == 303
    assert "code" in redirect_query(browser.get(back, follow_redirects=False))


def test_prompt_none_with_an_old_sign_in_is_login_required(browser: TestClient,
                                                           state: ServerState) -> None:
    client_id, _ = _consented(browser, state)
    later = utcnow() + timedelta(seconds=120)
    state.user_grants.sessions.clock = lambda: later
    _, challenge = pkce_pair()
    query = redirect_query(_authorize(browser, client_id, challenge, max_age="60",
                                      prompt="none"))
    assert query["error"] == "login_required" and query["state"] == "st-1"


@pytest.mark.parametrize(("extra", "error", "words"), [
    ({"max_age": "ten"}, "invalid_request", "max_age must be a whole number"),
    ({"max_age": "-5"}, "invalid_request", "max_age must be a whole number"),
    ({"max_age": "1e3"}, "invalid_request", "max_age must be a whole number"),
    ({"acr_values": "urn:example:hardware-key"}, "unmet_authentication_requirements",
     "supports: urn:scopegate:acr:password"),
    ({"acr_values": " "}, "invalid_request", "acr_values"),
])
def test_bad_step_up_parameters_are_redirected_errors(
        browser: TestClient, state: ServerState, extra: dict[str, str], error: str,
        words: str) -> None:
    client_id, _ = _consented(browser, state)
    _, challenge = pkce_pair()
    query = redirect_query(_authorize(browser, client_id, challenge, **extra))
    assert query["error"] == error and words in query["error_description"]
    assert "code" not in query


def test_acr_values_naming_ours_among_others_is_met(browser: TestClient,
                                                    state: ServerState) -> None:
    client_id, _ = _consented(browser, state)
    verifier, challenge = pkce_pair()
    query = redirect_query(_authorize(browser, client_id, challenge,
                                      acr_values=f"urn:example:mfa {ACR}"))
    body = exchange(browser, client_id, query["code"], verifier).json()
    assert _claims(body["access_token"])["acr"] == ACR
