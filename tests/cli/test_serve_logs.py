"""``scopegate serve --access-log`` as a real process: what an operator reads on stderr.

Every log line is one JSON object with no ANSI colour; each request is one structured
access line without its query string; each security event (failed or throttled sign-in,
reused refresh token, failed client authentication, new API key) is one line with the
client address; no secret ever appears.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .test_serve_subprocess import SCOPEGATE, free_port

PASSWORD = "correct horse battery"
REDIRECT = "http://127.0.0.1/callback"
SCOPES = ("openid", "offline_access", "keys:read", "keys:write")


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    done = subprocess.run([SCOPEGATE, *args, "--json"], env=env, input=stdin,
                          capture_output=True, text=True, check=True)
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


class Served:
    """The running server, and its stderr once stopped."""

    def __init__(self, base: str, env: dict[str, str], proc: subprocess.Popen[bytes]) -> None:
        self.base, self.env, self.proc = base, env, proc

    def stop(self) -> list[str]:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=20)
        return err.decode().splitlines()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'logs.db'}"}
    proc = subprocess.Popen(
        [SCOPEGATE, "serve", "--port", str(port), "--access-log",
         "--login-failures-per-account-address", "2", "--login-first-wait", "600"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            httpx.get(base + "/healthz", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
    server = Served(base, env, proc)
    yield server
    if proc.poll() is None:
        server.stop()


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1).replace("&amp;", "&")


def _sign_in_and_get_tokens(served: Served, client_id: str, email: str) -> dict[str, Any]:
    """Authorization code + PKCE as a browser and a CLI would do it, over real HTTP."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    with httpx.Client(base_url=served.base) as browser:
        start = browser.get("/oauth/authorize", params={
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
            "scope": " ".join(SCOPES), "resource": served.base + "/api/v1/",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256", "state": "s1"})
        login_url = start.headers["location"]
        form = browser.get(login_url).text
        next_path = parse_qs(urlsplit(login_url).query)["next"][0]
        signed_in = browser.post("/login", data={"csrf": _hidden(form, "csrf"), "email": email,
                                                 "password": PASSWORD, "next": next_path})
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(next_path)
        decided = browser.post("/oauth/authorize/decision", data={
            "csrf": _hidden(consent.text, "csrf"), "request": _hidden(consent.text, "request"),
            "decision": "approve"})
        code = parse_qs(urlsplit(decided.headers["location"]).query)["code"][0]
    tokens = httpx.post(served.base + "/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": client_id})
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    body["code"] = code
    return body


def _failed_logins(base: str, email: str, password: str, times: int) -> list[int]:
    with httpx.Client(base_url=base) as browser:
        csrf = _hidden(browser.get("/login").text, "csrf")
        return [browser.post("/login", data={"csrf": csrf, "email": email,
                                             "password": password}).status_code
                for _ in range(times)]


def test_serve_logs_json_access_lines_and_security_events(served: Served) -> None:
    env, base = served.env, served.base
    for email in ("ada@example.org", "eve@example.org"):
        _run(env, "users", "create", "--email", email, "--password-stdin", stdin=PASSWORD)
    scope_args = [arg for scope in SCOPES for arg in ("--scope", scope)]
    cli = _run(env, "clients", "create", "--name", "cli", "--public", "--grant",
               "authorization_code", "--grant", "refresh_token", "--redirect-uri", REDIRECT,
               *scope_args)
    bot = _run(env, "clients", "create", "--name", "bot", "--grant", "client_credentials",
               "--scope", "api")

    tokens = _sign_in_and_get_tokens(served, cli["client_id"], "ada@example.org")
    assert httpx.get(base + "/jwks.json?token=query-secret-value").status_code == 200
    wrong = httpx.post(base + "/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(bot["client_id"], "not-the-secret-" + "x" * 20))
    assert wrong.status_code == 401
    target = httpx.post(base + "/oauth/token", data={
        "grant_type": "client_credentials", "resource": "https://unknown.example/api"},
        auth=(bot["client_id"], bot["client_secret"]))
    assert target.json()["error"] == "invalid_target"
    statuses = _failed_logins(base, "eve@example.org", "wrong password one", 4)
    assert statuses[:2] == [401, 401] and statuses[-1] == 429
    assert _failed_logins(base, "nobody@example.org", "wrong password two", 1) == [401]
    key = httpx.post(base + "/api/v1/keys", json={"scopes": ["keys:read"], "name": "ci"},
                     headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert key.status_code == 201, key.text
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": cli["client_id"]}
    assert httpx.post(base + "/oauth/token", data=refresh).status_code == 200
    assert httpx.post(base + "/oauth/token", data=refresh).json()["error"] == "invalid_grant"

    lines = served.stop()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    plain = [line for line in lines if not line.startswith("{")]
    assert all(line.startswith("scopegate") for line in plain), plain  # the start banner
    secret_values = [PASSWORD, "wrong password one", "wrong password two", "query-secret-value",
                     "not-the-secret-", bot["client_secret"], tokens["refresh_token"],
                     tokens["access_token"], tokens["code"], key.json()["key"]]
    for line in lines:
        assert "\x1b" not in line and "color_message" not in line, line
        assert not any(value in line for value in secret_values), line

    access = [entry for entry in logged if entry["logger"] == "scopegate.access"]
    assert all(set(entry) >= {"method", "path", "status", "duration_ms", "client_address"}
               for entry in access)
    assert {"method": "GET", "path": "/jwks.json", "status": 200,
            "client_address": "127.0.0.1"}.items() <= next(
        e for e in access if e["path"] == "/jwks.json").items()
    assert [e["status"] for e in access if e["path"] == "/oauth/token"] == [200, 401, 400,
                                                                           200, 400]
    assert not any(e["logger"] == "uvicorn.access" for e in logged)

    events = [entry for entry in logged if entry["logger"] == "scopegate.security"]
    assert all(entry["client_address"] == "127.0.0.1" for entry in events)
    kinds = [(e["event"], e.get("reason")) for e in events]
    assert kinds.count(("login_failed", "wrong_password")) == statuses.count(401)
    assert ("login_throttled", None) in kinds
    assert ("login_failed", "unknown_account") in kinds
    assert [e["client_id"] for e in events if e["event"] == "client_auth_failed"] == [
        bot["client_id"]]
    reuse = [e for e in events if e["event"] == "refresh_token_reuse"]
    assert len(reuse) == 1 and reuse[0]["client_id"] == cli["client_id"]
    created = [e for e in events if e["event"] == "api_key_created"]
    assert len(created) == 1 and created[0]["key_id"] == key.json()["id"]
    assert created[0]["scopes"] == ["keys:read"]
