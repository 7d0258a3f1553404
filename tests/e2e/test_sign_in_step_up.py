"""RFC 9470 end to end: the example API's route that needs a recent sign-in, the real
server, the SDK pushing its request (RFC 9126), and a person in Chromium who types the
password again, once; without a person, one line saying which command to run."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from _servers import READ_PATH, Browser, Stack

from scopegate.client import (
    ApiClient,
    AuthorizationCodePkceProvider,
    SignInStepUpRequired,
    TokenSession,
)
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore

pytestmark = pytest.mark.browser

CLEAR_PATH = "/workspaces/demo/apps/hello/runs"  # needs a sign-in from the last second
SCOPES = ["openid", "api", "apps:read", "apps:run"]


def _session(stack: Stack, browser: Browser, path: Path,
             interactive: bool | None = True) -> TokenSession:
    provider = AuthorizationCodePkceProvider(stack.issuer, stack.public_client_id,
                                             opener=browser, announce=lambda _url: None,
                                             timeout=30)
    return TokenSession(provider, cache=TokenCache(FileTokenStore(path)), scopes=SCOPES,
                        interactive=interactive, environment="local")


def _wait_until_old(seconds: float = 3.5) -> None:
    time.sleep(seconds)  # older than max_age=1 plus the guard's 2 s of clock leeway


def test_an_old_sign_in_types_the_password_again_once(
        stack: Stack, new_page: Callable[[], Any], tmp_path: Path) -> None:
    carol = stack.users["carol"]
    browser = Browser(new_page(), stack.issuer, carol, stack.database_url)
    session = _session(stack, browser, tmp_path / "tokens.json")
    seen: list[str] = []
    hooks = {"response": [lambda r: seen.append(f"{r.status_code} {r.request.url.path}")]}
    with ApiClient(session, base_url=stack.api_url, event_hooks=hooks) as api:
        assert api.get(READ_PATH).status_code == 200
        assert browser.logins == 1
        _wait_until_old()
        cleared = api.delete(CLEAR_PATH)
    assert cleared.status_code == 200 and cleared.json()["cleared_by"] == carol.id
    api_calls = [line for line in seen if "/workspaces/" in line]
    assert api_calls == [f"200 {READ_PATH}", f"401 {CLEAR_PATH}", f"200 {CLEAR_PATH}"]
    # One more login, and the password was typed again although carol was signed in.
    assert len(browser.opened) == 2 and browser.logins == 2
    # Both requests were pushed (RFC 9126): only client_id and request_uri in the URL.
    for url in browser.opened:
        assert set(parse_qs(urlsplit(url).query)) == {"client_id", "request_uri"}
    assert browser.authorize_params(1)["max_age"] == "1"
    assert set(SCOPES) <= browser.requested_scopes(1)


def test_without_a_person_it_fails_fast_with_the_login_command(
        stack: Stack, new_page: Callable[[], Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    browser = Browser(new_page(), stack.issuer, stack.users["dave"], stack.database_url)
    path = tmp_path / "tokens.json"
    _session(stack, browser, path).get_token()
    _wait_until_old()
    monkeypatch.setenv("CI", "true")
    with ApiClient(_session(stack, browser, path, interactive=None),
                   base_url=stack.api_url) as api:
        with pytest.raises(SignInStepUpRequired) as raised:
            api.delete(CLEAR_PATH)
        assert api.get(READ_PATH).status_code == 200  # the token still serves the rest
    assert raised.value.hint == "scopegate login --env local --max-age 1"
    assert raised.value.exit_code == 4
    assert "a sign-in within the last 1 seconds" in str(raised.value)
    assert len(browser.opened) == 1
