"""The operator console in Chromium, with real guard traffic (issue 15).

The example API, registered as the resource ``APPS``, runs in warn mode with usage
reporting; one machine client calls it as two SDK versions: 1.0.0 asks for ``apps:read``
without naming the resource (its tokens lack the API's audience, as seed 000's old SDKs'),
2.0.0 asks with ``resource=APPS``. The operator signs in, sees both versions and the
chart, switches to enforce, and the API refuses the old version's tokens within seconds.
A member's key holding ``apps:read apps:run`` that only ever lists apps shows ``apps:run``
unused and is narrowed in one click. With ``SCOPEGATE_SCREENSHOTS=<dir>`` the test saves
the two views there (the README's pictures).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import API_AUDIENCE, READ_PATH, RUN_PATH, _admin

from scopegate.cli._local_stack import LocalService, start_auth_server, start_example_api

APPS = "https://apps.console.example"
OPERATOR = ("ops@example.org", "operator correct horse battery")
MEMBER = ("kim@example.org", "member correct horse battery")


@dataclass
class Console:
    issuer: str
    api: str
    client: tuple[str, str]
    key: str
    key_id: str


def _token(console: Console, **form: str) -> str:
    reply = httpx.post(console.issuer + "/oauth/token", auth=console.client,
                       data={"grant_type": "client_credentials", "scope": "apps:read", **form})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def _call(console: Console, token: str, sdk: str, path: str = READ_PATH,
          method: str = "GET") -> int:
    reply = httpx.request(method, console.api + path, json={} if method == "POST" else None,
                          headers={"Authorization": f"Bearer {token}", "User-Agent": sdk})
    return reply.status_code


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    workdir = tmp_path_factory.mktemp("console")
    db = f"sqlite:///{workdir / 'scopegate.db'}"
    _admin(db, "users", "create", "--email", OPERATOR[0], "--password-stdin", "--admin",
           stdin=OPERATOR[1] + "\n")
    _admin(db, "users", "create", "--email", MEMBER[0], "--password-stdin",
           stdin=MEMBER[1] + "\n")
    _admin(db, "resources", "add", APPS, "--scope", "apps:read", "--scope", "apps:run")
    # API keys name the catalog's API audience: the guard introspects for both.
    guard = _admin(db, "clients", "create", "--name", "example API guard",
                   "--resource-server", APPS, "--resource-server", API_AUDIENCE)
    client = _admin(db, "clients", "create", "--name", "acme nightly", "--scope", "api",
                    "--scope", "apps:read")
    key = _admin(db, "keys", "create", "--email", MEMBER[0], "--name", "ci",
                 "--scope", "apps:read", "--scope", "apps:run")
    started: list[LocalService] = []
    try:
        started.append(start_auth_server(db, workdir))
        started.append(start_example_api(started[0].url, workdir, extra_env={
            "SCOPEGATE_AUDIENCE": APPS, "SCOPEGATE_AUDIENCE_MODE": "warn",
            "SCOPEGATE_GUARD_USAGE_REPORT": "0.5",
            "SCOPEGATE_GUARD_CLIENT_ID": guard["client_id"],
            "SCOPEGATE_GUARD_CLIENT_SECRET": guard["client_secret"]}))
        yield Console(started[0].url, started[1].url,
                      (client["client_id"], client["client_secret"]), key["key"], key["id"])
    finally:
        for service in reversed(started):
            service.stop()


def _sign_in(page: Any, console: Console, path: str) -> None:
    page.goto(console.issuer + path)
    page.fill("input[name=email]", OPERATOR[0])
    page.fill("input[name=password]", OPERATOR[1])
    page.click("button[type=submit]")
    page.wait_for_url(console.issuer + path + "*")


def _shot(page: Any, name: str) -> None:
    where = os.environ.get("SCOPEGATE_SCREENSHOTS")
    if where:
        page.screenshot(path=str(Path(where) / name), full_page=True)


def _until(check: Any, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


# First: once enforce is on, the key (its tokens name the catalog audience) is refused.
def test_an_unused_key_scope_shows_and_is_narrowed(console: Console, new_page: Any) -> None:
    assert _call(console, console.key, "curl/8.5") == 200  # lists apps, never runs one
    time.sleep(1.5)
    page = new_page()
    _sign_in(page, console, "/admin/least-privilege")
    row = page.locator(f"#key-{console.key_id}")
    assert row.locator("code.unused").inner_text() == "apps:run"
    assert row.locator("input[name=keep]").input_value() == "apps:read"
    _shot(page, "console-least-privilege.png")
    row.locator("button").click()
    new_key = page.inner_text("#new-key")
    assert _call(console, new_key, "curl/8.5") == 200
    assert _call(console, new_key, "curl/8.5", RUN_PATH, "POST") == 403
    assert _call(console, console.key, "curl/8.5") == 200  # the old key: grace period


def test_the_operator_sees_both_versions_and_enforce_refuses_the_old_one(
        console: Console, new_page: Any) -> None:
    old, new = _token(console), _token(console, resource=APPS)
    assert [_call(console, old, "acme-sdk/1.0.0") for _ in range(3)] == [200] * 3
    assert _call(console, new, "acme-sdk/2.0.0 httpx/0.28") == 200
    time.sleep(1.5)  # two report intervals
    page = new_page()
    rollout = f"/admin/rollout?resource={APPS}"
    _sign_in(page, console, rollout)
    assert page.inner_text("#verdict").startswith("Not ready")
    old_row = page.locator("#callers tr", has_text="1.0.0")
    new_row = page.locator("#callers tr", has_text="2.0.0")
    assert "acme-sdk" in old_row.inner_text() and "refused" in old_row.inner_text()
    assert "accepted" in new_row.inner_text()
    assert page.locator("svg.chart rect.bar").count() >= 1
    _shot(page, "console-rollout.png")
    page.select_option("#mode-select", "enforce")
    page.click("#switch button")
    assert "Switched to enforce" in page.inner_text("#notice")
    took = _until(lambda: _call(console, old, "acme-sdk/1.0.0") == 401, 5.0)
    assert took < 5.0 and _call(console, new, "acme-sdk/2.0.0") == 200
