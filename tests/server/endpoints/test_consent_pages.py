"""The consent page names the client as it registered; "Not you?"; error pages say what next."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.state import ServerState
from scopegate.store.repositories.clients import ClientRepository, Registration

from ..grants.flow import (
    REDIRECT,
    authorize_params,
    hidden,
    log_in_new_member,
    login,
    make_client,
    make_user,
    open_browser,
    pkce_pair,
    redirect_query,
)

LOGO = "https://cdn.example.com/brand/logo.png"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


def _register(http: TestClient, **metadata: Any) -> str:
    body = {"client_name": "Acme Notes", "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none",
            "scope": "openid api", **metadata}
    response = http.post("/oauth/register", json=body)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def _consent(browser: TestClient, client_id: str) -> Any:
    _, challenge = pkce_pair()
    page = browser.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                       follow_redirects=False)
    assert page.status_code == 200, page.text[:300]
    return page


def _links(text: str) -> dict[str, str]:
    """The client's links on a page: label -> href, with their rel checked."""
    found = re.findall(r'<a href="([^"]*)" rel="([^"]*)" target="_blank" '
                       r'data-link="([^"]*)">', text)
    assert all(rel == "noopener noreferrer" for _, rel, _ in found)
    return {label: html.unescape(href) for href, _, label in found}


def test_consent_names_the_client_with_its_logo_and_links(browser: TestClient,
                                                          state: ServerState) -> None:
    client_id = _register(browser, logo_uri=LOGO, client_uri="https://acme.example/",
                          policy_uri="https://acme.example/privacy?x=1&y=2",
                          tos_uri="http://localhost:8080/terms")
    log_in_new_member(browser, state)
    page = _consent(browser, client_id)
    assert '<span id="client-name">Acme Notes</span>' in page.text
    assert (f'<img id="client-logo" src="{LOGO}" alt="Acme Notes logo" width="48" '
            f'height="48" referrerpolicy="no-referrer">') in page.text
    assert _links(page.text) == {"Home page": "https://acme.example/",
                                 "Privacy policy": "https://acme.example/privacy?x=1&y=2",
                                 "Terms of service": "http://localhost:8080/terms"}
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and csp.endswith("img-src https://cdn.example.com")


def test_stored_metadata_is_shown_only_when_safe(browser: TestClient,
                                                 state: ServerState) -> None:
    """A row holding what registration would refuse (an older row, a metadata document)
    never puts a script URL, plain http off loopback or markup on the page."""
    hostile = {"logo_uri": "javascript:alert(1)", "client_uri": "http://acme.example/",
               "policy_uri": 'https://a.example/"><script>x</script>',
               "tos_uri": "https://evil.example;script-src:*/"}
    ClientRepository(state.db).create(
        client_id="hostile-client", name='Acme <b onclick="x">Notes</b>', secret_hash=None,
        grant_types=["authorization_code"], allowed_scopes=["openid", "api"],
        default_scopes=["openid"], redirect_uris=[REDIRECT],
        registration=Registration(None, hostile))
    log_in_new_member(browser, state)
    page = _consent(browser, "hostile-client")
    assert "Acme &lt;b onclick=&#34;x&#34;&gt;Notes&lt;/b&gt;" in page.text
    assert "<img" not in page.text and "javascript:" not in page.text
    assert "<script" not in page.text and "http://acme.example" not in page.text
    assert _links(page.text) == {}
    assert page.headers["content-security-policy"].endswith("img-src 'none'")


def test_admin_clients_keep_a_plain_consent_page(browser: TestClient,
                                                 state: ServerState) -> None:
    client_id, _ = make_client(state, name="Test CLI")
    log_in_new_member(browser, state)
    page = _consent(browser, client_id)
    assert "<img" not in page.text and _links(page.text) == {}


def test_not_you_signs_out_and_continues_the_same_request_as_someone_else(
        browser: TestClient, state: ServerState) -> None:
    client_id = _register(browser)
    log_in_new_member(browser, state)
    _, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, state="keep-me", prompt="consent")
    page = browser.get("/oauth/authorize", params=params, follow_redirects=False)
    assert page.status_code == 200
    out = browser.post("/logout", data={"csrf": hidden(page.text, "csrf"),
                                        "next": hidden(page.text, "next")},
                       follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/login?next=")
    signed_out = browser.get("/oauth/authorize", params=params, follow_redirects=False)
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["location"]
    other = make_user(state)
    next_path = html.unescape(hidden(page.text, "next"))
    assert login(browser, other.email, next_path=next_path).headers["location"] == next_path
    again = browser.get(next_path, follow_redirects=False)
    assert again.status_code == 200
    assert f'<strong id="signed-in-as">{other.email}</strong>' in again.text
    decided = browser.post("/oauth/authorize/decision", data={
        "csrf": hidden(again.text, "csrf"), "request": hidden(again.text, "request"),
        "decision": "approve"}, follow_redirects=False)
    query = redirect_query(decided)
    assert "code" in query and query["state"] == "keep-me"


def _next_step(text: str) -> str:
    found = re.search(r'<p id="next-step">([^<]+)</p>', text)
    assert found, "the error page says what to do next"
    return html.unescape(found.group(1))


def _back(text: str) -> tuple[str, str] | None:
    found = re.search(r'<a id="back-link" href="([^"]*)">([^<]+)</a>', text)
    return (html.unescape(found.group(1)), found.group(2)) if found else None


def test_error_pages_say_what_to_do_next_and_link_back(browser: TestClient,
                                                       state: ServerState) -> None:
    client_id = _register(browser, client_uri="https://acme.example/start")
    _, challenge = pkce_pair()
    wrong = browser.get("/oauth/authorize", params=authorize_params(
        client_id, challenge, redirect_uri="https://attacker.example/cb"))
    assert wrong.status_code == 400
    assert "Acme Notes" in _next_step(wrong.text)
    assert _back(wrong.text) == ("https://acme.example/start", "Back to Acme Notes")
    unknown = browser.get("/oauth/authorize", params={"client_id": "nope"})
    assert "start signing in again" in _next_step(unknown.text) and _back(unknown.text) is None
    browser.get("/login")
    expired = browser.post("/login", data={"csrf": "stale", "email": "a@example.org",
                                           "password": "x"})
    assert expired.status_code == 403 and _next_step(expired.text)
    assert _back(expired.text) == ("/login", "Sign in")
    log_in_new_member(browser, state)
    device = browser.post("/device", data={"csrf": "stale", "user_code": "ABCD-EFGH"})
    assert device.status_code == 403 and _back(device.text) == ("/device",
                                                                "Enter the code again")
