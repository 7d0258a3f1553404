"""The HTML pages: accessible markup, no external assets, locked-down headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.state import ServerState

from ..grants.flow import (
    authorize_params,
    log_in_new_member,
    make_client,
    open_browser,
    pkce_pair,
)


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


def _check_page(html: str, headers: dict[str, str]) -> None:
    assert html.startswith("<!doctype html>") and '<html lang="en">' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external assets"
    assert "<script" not in html
    for field in re.findall(r'<input type="(?:email|password|text)" id="([^"]+)"', html):
        assert f'<label for="{field}">' in html, f"input {field} has no label"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


def test_every_page_is_accessible_and_self_contained(browser: TestClient,
                                                     state: ServerState) -> None:
    login_page = browser.get("/login")
    _check_page(login_page.text, dict(login_page.headers))
    cookie = login_page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    log_in_new_member(browser, state)
    device = browser.get("/device")
    _check_page(device.text, dict(device.headers))
    client_id, _ = make_client(state, name='<script>alert("x")</script>')
    _, challenge = pkce_pair()
    consent = browser.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                          follow_redirects=False)
    _check_page(consent.text, dict(consent.headers))
    assert "&lt;script&gt;" in consent.text  # client names are escaped
    bad = browser.get("/oauth/authorize", params={"client_id": "nope"})
    _check_page(bad.text, dict(bad.headers))
    assert 'role="alert"' in bad.text


def test_logout_needs_csrf_and_ends_the_session(browser: TestClient,
                                                state: ServerState) -> None:
    log_in_new_member(browser, state)
    page = browser.get("/device")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    assert browser.post("/logout", data={"csrf": "forged"}).status_code == 403
    out = browser.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert browser.get("/device", follow_redirects=False).status_code == 302
