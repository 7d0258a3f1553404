"""The first run as a user types it, against a real authorization server on loopback:
``env add``, ``login``, ``status``, ``token --json``. Login names the account by email."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from scopegate.cli import user

from .loopback_issuer import PUBLIC_ID, Answer, LoopbackIssuer, Received
from .test_user_env import config, one_line, scopegate  # noqa: F401 - the fixture

EMAIL = "alice@example.com"


def id_token(server: LoopbackIssuer, **claims: Any) -> str:
    """An ID token as the issuer would send it (the CLI reads it only to name the account)."""
    body = {"iss": server.url, "aud": PUBLIC_ID, "sub": "user-7f3a", "iat": int(time.time()),
            "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, "k" * 32, algorithm="HS256")


def device_login(server: LoopbackIssuer, monkeypatch: pytest.MonkeyPatch, **claims: Any) -> None:
    """The server approves the device code at once and answers with an ID token."""
    monkeypatch.setattr(user, "sleep", lambda seconds: None)
    asked: set[str] = set()

    def device(request: Received) -> Answer:
        asked.update(request.form.get("scope", "").split())
        return Answer(200, {"device_code": "dc", "user_code": "ABCD-EFGH", "expires_in": 600,
                            "interval": 1, "verification_uri": server.url + "/device"})

    def token(request: Received) -> Answer:
        body = server.mint(asked)
        return Answer(200, {**body, "id_token": id_token(server, **claims)})

    server.overrides["/oauth/device_authorization"] = device
    server.overrides["/oauth/token"] = token
    server.allowed.add("email")


def test_first_run_env_add_login_status_token_json(
    config: Path, server: LoopbackIssuer, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    device_login(server, monkeypatch, email=EMAIL)
    code, _, err = scopegate("env", "add", "prod", "--issuer", server.url,
                             "--client-id", PUBLIC_ID, "--default")
    assert code == 0, err
    code, _, err = scopegate("login", "--device")
    assert code == 0, err
    assert f"Logged in to prod as {EMAIL} with scopes:" in one_line(err)
    assert "user-7f3a" not in err
    code, out, _ = scopegate("status")
    assert code == 0 and out.startswith(f"{EMAIL} @ prod (valid")
    code, out, _ = scopegate("status", "--json")
    assert json.loads(out)["tokens"][0]["account"] == EMAIL
    code, out, err = scopegate("token", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert set(shown) == {"token", "token_type", "expires_at", "scopes"}
    assert shown["token"] in server.active and shown["token_type"] == "Bearer"
    assert shown["expires_at"].endswith("+00:00")
    assert "openid" in shown["scopes"] and "email" in shown["scopes"]
    assert "rt-" not in out and "eyJ" not in out  # neither the refresh nor the ID token


def test_login_asks_userinfo_when_the_id_token_names_no_email(
    config: Path, server: LoopbackIssuer, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    device_login(server, monkeypatch)
    metadata = server.answer(Received("/.well-known/oauth-authorization-server", {}, {})).body
    server.overrides["/.well-known/oauth-authorization-server"] = lambda _: Answer(
        200, {**metadata, "userinfo_endpoint": server.url + "/oauth/userinfo"})
    server.overrides["/oauth/userinfo"] = lambda request: Answer(200, {
        "sub": "user-7f3a", "email": "bob@example.com"} if request.headers.get(
            "authorization", "").startswith("Bearer at-") else {})
    scopegate("env", "add", "prod", "--issuer", server.url, "--client-id", PUBLIC_ID)
    code, _, err = scopegate("login", "--device")
    assert code == 0, err
    assert "Logged in to prod as bob@example.com" in one_line(err)
    server.overrides.pop("/oauth/userinfo")  # status asks nobody: the name was kept
    code, out, _ = scopegate("status")
    assert code == 0 and out.startswith("bob@example.com @ prod (valid")


def test_login_falls_back_to_the_subject_and_ignores_another_users_userinfo(
    config: Path, server: LoopbackIssuer, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    device_login(server, monkeypatch)
    metadata = server.answer(Received("/.well-known/oauth-authorization-server", {}, {})).body
    server.overrides["/.well-known/oauth-authorization-server"] = lambda _: Answer(
        200, {**metadata, "userinfo_endpoint": server.url + "/oauth/userinfo"})
    server.overrides["/oauth/userinfo"] = lambda _: Answer(
        200, {"sub": "someone-else", "email": "mallory@example.com"})
    scopegate("env", "add", "prod", "--issuer", server.url, "--client-id", PUBLIC_ID)
    code, _, err = scopegate("login", "--device")
    assert code == 0, err
    assert "Logged in to prod as user-7f3a" in one_line(err)
    assert "mallory" not in err


def test_token_json_and_decode_are_one_or_the_other(
    config: Path, server: LoopbackIssuer  # noqa: F811
) -> None:
    scopegate("env", "add", "prod", "--issuer", server.url, "--client-id", PUBLIC_ID)
    code, _, err = scopegate("token", "--json", "--decode")
    assert code == 2
    assert "choose one of --decode and --json" in one_line(err)


def test_not_logged_in_token_says_which_login_to_run(
    config: Path, server: LoopbackIssuer  # noqa: F811
) -> None:
    scopegate("env", "add", "prod", "--issuer", server.url, "--client-id", PUBLIC_ID)
    code, out, err = scopegate("token", "--json")
    assert (code, out) == (1, "")
    assert "not logged in; run: scopegate login --env prod" in err
    code, out, _ = scopegate("status")
    assert code == 1
    assert one_line(out) == "Not logged in to prod; run: scopegate login --env prod"
