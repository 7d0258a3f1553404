"""Interactive logins against the real server, a person's part played by headless Chromium.

The SDK's PKCE provider gets an ``opener`` that drives Chromium through the real login
and consent pages to the SDK's loopback listener; the CLI's ``login --device`` runs as a
subprocess whose printed code is approved on the real verification page. The example API
then refuses a call for lack of ``apps:run``, and the step-up, its non-interactive
refusal, an identity change and a failing save are each checked as a user sees them.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import (
    API_AUDIENCE,
    READ_PATH,
    RUN_PATH,
    SCOPEGATE,
    Browser,
    Stack,
    User,
    cli_env,
)

from scopegate.client import (
    ApiClient,
    AuthorizationCodePkceProvider,
    ScopeStepUpRequired,
    Token,
    TokenSession,
)
from scopegate.client._cache import TokenCache
from scopegate.client._exceptions import IdentityChanged, TokenStoreError
from scopegate.client._flow import drive_sync
from scopegate.client._login import login_flow
from scopegate.client._stores import FileTokenStore

pytestmark = pytest.mark.browser

INITIAL = ["openid", "profile", "email", "offline_access", "api", "apps:read"]
PageFactory = Callable[[], Any]


def _session(stack: Stack, browser: Browser, cache: TokenCache,
             interactive: bool | None = True) -> TokenSession:
    provider = AuthorizationCodePkceProvider(stack.issuer, stack.public_client_id,
                                             opener=browser, announce=lambda _url: None,
                                             timeout=30)
    return TokenSession(provider, cache=cache, scopes=INITIAL, interactive=interactive,
                        environment="local")


def _browser(stack: Stack, new_page: PageFactory, user: str) -> Browser:
    return Browser(new_page(), stack.issuer, stack.users[user], stack.database_url)


def _from_disk(path: Path, stack: Stack) -> list[Token]:
    """What a new process would load from the token file."""
    cache = TokenCache(FileTokenStore(path))
    cache.reload()
    return cache.tokens(stack.issuer, stack.public_client_id)


def test_pkce_login_in_chromium_gives_tokens_and_userinfo(
    stack: Stack, new_page: PageFactory, tmp_path: Path
) -> None:
    ada = stack.users["ada"]
    browser = _browser(stack, new_page, "ada")
    session = _session(stack, browser, TokenCache(FileTokenStore(tmp_path / "tokens.json")))

    token = session.get_token()

    assert browser.logins == 1 and browser.requested_scopes(0) == set(INITIAL)
    assert any("Call the example API on your behalf" in s for s in browser.consents[0])
    assert token.subject == ada.id
    assert token.scopes == frozenset(INITIAL)
    assert API_AUDIENCE in token.audience and token.refresh_token
    info = httpx.get(stack.metadata["userinfo_endpoint"],
                     headers={"Authorization": f"Bearer {token.access_token}"})
    assert info.status_code == 200
    assert info.json()["sub"] == ada.id and info.json()["email"] == ada.email
    # Cached: asking again opens no browser, and a new process finds it on disk.
    assert session.get_token(["apps:read"]).access_token == token.access_token
    assert len(browser.opened) == 1
    assert [t.access_token for t in _from_disk(tmp_path / "tokens.json", stack)] == [
        token.access_token]


def test_insufficient_scope_steps_up_in_chromium_and_retries_once(
    stack: Stack, new_page: PageFactory, tmp_path: Path
) -> None:
    bob = stack.users["bob"]
    browser = _browser(stack, new_page, "bob")
    session = _session(stack, browser, TokenCache(FileTokenStore(tmp_path / "tokens.json")))
    seen: list[str] = []
    hooks = {"response": [lambda r: seen.append(f"{r.status_code} {r.request.url.path}")]}
    with ApiClient(session, base_url=stack.api_url, event_hooks=hooks) as api:
        assert api.get(READ_PATH).status_code == 200
        ran = api.post(RUN_PATH, json={"inputs": {"who": "bob"}})

    assert ran.status_code == 200 and ran.json()["ran_as"] == bob.id
    api_calls = [line for line in seen if "/workspaces/" in line]
    assert api_calls == [f"200 {READ_PATH}", f"403 {RUN_PATH}", f"200 {RUN_PATH}"]
    # One step-up login for defaults + granted + required; bob was still signed in.
    assert len(browser.opened) == 2 and browser.logins == 1
    assert browser.requested_scopes(1) == {*INITIAL, "apps:run"}
    assert any("Run apps" in line for line in browser.consents[-1])
    # The stepped-up token replaced the old one on disk.
    [stored] = _from_disk(tmp_path / "tokens.json", stack)
    assert "apps:run" in stored.scopes and stored.subject == bob.id


def test_without_a_tty_step_up_fails_fast_with_the_login_hint(
    stack: Stack, new_page: PageFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = _browser(stack, new_page, "ada")
    cache = TokenCache(FileTokenStore(tmp_path / "tokens.json"))
    logged_in = _session(stack, browser, cache).get_token()

    monkeypatch.setenv("CI", "true")  # the same session in CI: interactivity is detected
    session = _session(stack, browser, cache, interactive=None)
    with ApiClient(session, base_url=stack.api_url) as api:
        assert api.get(READ_PATH).status_code == 200  # covered: no login needed
        with pytest.raises(ScopeStepUpRequired) as raised:
            api.post(RUN_PATH, json={})
        # The refusal costs nothing else: reads go on with the same token.
        assert api.get(READ_PATH).status_code == 200

    assert raised.value.missing == ("apps:run",)
    assert raised.value.hint == "scopegate login --env local --scope apps:run"
    message = str(raised.value)
    assert "apps:run" in message and "scopegate login --env local --scope apps:run" in message
    assert len(browser.opened) == 1  # no browser was opened for the step-up
    assert session.cached() == logged_in


class _Lines:
    """Collect a subprocess's stream line by line in a thread, for reading while it runs."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never printed; got: {''.join(self.lines)}")

    def text(self) -> str:
        self._thread.join(timeout=5)
        return "".join(self.lines)


def _cli(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCOPEGATE, *args], env=cli_env(config, **env), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_cli_device_login_approved_in_chromium_then_step_up_needs_a_tty(
    stack: Stack, config: Path, new_page: PageFactory
) -> None:
    carol: User = stack.users["carol"]
    login = subprocess.Popen(
        [SCOPEGATE, "login", "--env", "local", "--device", "--scope", "apps:read"],
        env=cli_env(config), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        stderr = _Lines(login.stderr)
        code = stderr.wait_for(r"enter the code (\S+)").group(1)
        complete = stderr.wait_for(r"or open (http\S+)").group(1)
        assert complete.startswith(stack.issuer)
        listed = _browser(stack, new_page, "carol").approve_device(complete, code)
        assert any("List and read apps" in line for line in listed)
        assert login.wait(timeout=30) == 0, stderr.text()
    finally:
        if login.poll() is None:
            login.kill()
            login.wait()
    assert f"Logged in to local as {carol.email} with scopes:" in stderr.text()  # not the id

    status = _cli(config, "status", "--env", "local", "--json")
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)["tokens"]
    assert row["subject"] == carol.id and row["valid"] and row["refreshable"]
    assert {"openid", "profile", "email", "offline_access", "api", "apps:read"} <= set(
        row["scopes"])
    assert API_AUDIENCE in row["audience"]

    # A covered scope works without anyone at the keyboard...
    covered = _cli(config, "token", "--env", "local", "--scope", "apps:read", CI="true")
    assert covered.returncode == 0 and covered.stdout.count(".") == 2, covered.stderr
    # ...a missing one fails fast, exit 4, with the command to run; with CI set, or with
    # no TTY on stdin/stdout/stderr (the subprocess's streams are pipes, CI unset).
    hint = "scopegate login --env local --scope apps:run"
    for extra in ({"CI": "true"}, {}):
        refused = _cli(config, "token", "--env", "local", "--scope", "apps:run", **extra)
        assert refused.returncode == 4, refused.stderr
        assert hint in refused.stderr and "apps:run" in refused.stderr
        assert refused.stdout == "" and "Traceback" not in refused.stderr
    # The session is untouched.
    again = json.loads(_cli(config, "status", "--env", "local", "--json").stdout)
    assert again["tokens"] == [row]


def test_step_up_as_another_account_aborts_and_keeps_the_old_token(
    stack: Stack, new_page: PageFactory, tmp_path: Path
) -> None:
    erin, ada = stack.users["erin"], stack.users["ada"]
    browser = _browser(stack, new_page, "erin")
    session = _session(stack, browser, TokenCache(FileTokenStore(tmp_path / "tokens.json")))
    with ApiClient(session, base_url=stack.api_url) as api:
        assert api.get(READ_PATH).status_code == 200
        erins = session.cached()
        # The step-up login happens in another browser profile, signed in as ada.
        browser.page, browser.user = new_page(), ada
        with pytest.raises(IdentityChanged) as raised:
            api.post(RUN_PATH, json={})

    assert (raised.value.expected, raised.value.actual) == (erin.id, ada.id)
    assert "log out first" in str(raised.value)
    assert browser.logins == 2  # erin, then ada on the step-up
    assert session.cached() == erins
    [stored] = _from_disk(tmp_path / "tokens.json", stack)
    assert stored.subject == erin.id and "apps:run" not in stored.scopes
    # A new process still works as erin with what is on disk.
    reloaded = TokenCache(FileTokenStore(tmp_path / "tokens.json"))
    with ApiClient(_session(stack, browser, reloaded, interactive=False),
                   base_url=stack.api_url) as api:
        listed = api.get(READ_PATH)
    assert listed.status_code == 200 and listed.json()["caller"] == erin.id


class _SwitchableDisk(FileTokenStore):
    """The real 0600 token file, on a disk the test can make read-only (EROFS) mid-run.

    Tests run as root here, where a read-only directory does not stop writes.
    """

    read_only = False

    def update(self, change: Callable[[dict[str, dict[str, Any]]], None]) -> None:
        if self.read_only:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self.path))
        super().update(change)


def test_a_failing_save_keeps_the_old_token_usable(
    stack: Stack, new_page: PageFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dave = stack.users["dave"]
    path = tmp_path / "tokens.json"
    disk = _SwitchableDisk(path)
    browser = _browser(stack, new_page, "dave")
    session = _session(stack, browser, TokenCache(disk))
    with ApiClient(session, base_url=stack.api_url) as api:
        assert api.get(READ_PATH).status_code == 200
        old = session.cached()
        assert old is not None

        disk.read_only = True
        with caplog.at_level(logging.WARNING, logger="scopegate.client"):
            ran = api.post(RUN_PATH, json={})
        # The step-up token serves this process; the warning says the disk kept the old.
        assert ran.status_code == 200 and ran.json()["ran_as"] == dave.id
        assert "keeping the previous session on disk" in caplog.text

    # An explicit login whose save fails is an error, and it logs nobody out either.
    with httpx.Client() as http, pytest.raises(TokenStoreError):
        drive_sync(login_flow(session, ["apps:run"]), http.send, session.locks)

    [stored] = _from_disk(path, stack)
    assert stored.access_token == old.access_token and "apps:run" not in stored.scopes
    reloaded = TokenCache(FileTokenStore(path))
    with ApiClient(_session(stack, browser, reloaded, interactive=False),
                   base_url=stack.api_url) as api:
        listed = api.get(READ_PATH)
    assert listed.status_code == 200 and listed.json()["caller"] == dave.id
