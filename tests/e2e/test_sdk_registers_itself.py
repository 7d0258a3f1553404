"""scopegate's own SDK with no client id: it registers itself at the real server (RFC 7591),
keeps the registration, reuses it, and registers again when the server forgot it."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from interactive_server import running_server
from typer.testing import CliRunner

from scopegate.cli.main import app as cli
from scopegate.client import AuthenticationError, ConfigError, session_from_env
from scopegate.client import _providers as providers
from scopegate.client._discovery import Discovery
from scopegate.client._flow import drive_sync
from scopegate.client._locks import LockRegistry
from scopegate.client._registration import (
    read_answer,
    registered_client_flow,
    registration_store,
)

EMAIL = "grace@example.org"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('sdkreg') / 'scopegate.db'}"
    made = CliRunner().invoke(cli, ["users", "create", "--email", EMAIL, "--password-stdin",
                                    "--database-url", db_url], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.stderr
    return db_url


@pytest.fixture(scope="module")
def issuer(database: str) -> Iterator[str]:
    with running_server(database) as url:
        yield url


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    for name in ("SCOPEGATE_ENV", "SCOPEGATE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _environment(config: Path, issuer: str) -> None:
    (config / "environments.json").write_text(json.dumps({"environments": {"dev": {
        "issuer": issuer}}}))


def _stored(config: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((config / "registrations.json").read_text())
    return data["tokens"]


def test_a_login_without_client_id_registers_once_and_reuses_it(config: Path,
                                                                 issuer: str) -> None:
    _environment(config, issuer)
    first = session_from_env("dev", config=config, interactive=False)
    second = session_from_env("dev", config=config, interactive=False)
    stored = _stored(config)[issuer]
    assert first.provider.client_id == second.provider.client_id == stored["client_id"]
    assert stored["registration_access_token"]
    mode = stat.S_IMODE((config / "registrations.json").stat().st_mode)
    assert mode == 0o600  # the registration access token is a credential
    read = httpx.get(stored["registration_client_uri"], headers={
        "Authorization": f"Bearer {stored['registration_access_token']}"}).json()
    assert read["client_name"] == "scopegate-python"
    assert read["token_endpoint_auth_method"] == "none"
    assert read["grant_types"] == ["authorization_code", "refresh_token"]


def test_a_deleted_registration_is_made_again_once(config: Path, issuer: str) -> None:
    _environment(config, issuer)
    old = session_from_env("dev", config=config, interactive=False).provider.client_id
    stored = _stored(config)[issuer]
    gone = httpx.delete(stored["registration_client_uri"], headers={
        "Authorization": f"Bearer {stored['registration_access_token']}"})
    assert gone.status_code == 204
    new = session_from_env("dev", config=config, interactive=False).provider.client_id
    again = session_from_env("dev", config=config, interactive=False).provider.client_id
    assert new != old and again == new == _stored(config)[issuer]["client_id"]


def test_explicit_client_id_wins(config: Path, issuer: str) -> None:
    _environment(config, issuer)
    session = session_from_env("dev", client_id="mine", config=config, interactive=False)
    assert session.provider.client_id == "mine"
    assert not (config / "registrations.json").exists()


def test_a_server_without_registration_names_client_id(database: str, config: Path) -> None:
    with running_server(database, registration="off") as closed:
        _environment(config, closed)
        with pytest.raises(ConfigError, match="--client-id"):
            session_from_env("dev", config=config, interactive=False)
    assert not (config / "registrations.json").exists()


@pytest.mark.parametrize("answer", [
    {"client_secret": "x"},  # no client_id
    {"client_id": "a\nb"},  # not printable
    {"client_id": "c", "token_endpoint_auth_method": "client_secret_basic"},  # not public
])
def test_an_unusable_registration_answer_is_refused(answer: dict[str, Any]) -> None:
    discovery = Discovery("https://issuer.example")
    with pytest.raises(AuthenticationError, match="refusing it"):
        read_answer(answer, "https://issuer.example/register", discovery)


def _hostile(body: bytes, registration_endpoint: str) -> httpx.MockTransport:
    metadata = {"issuer": "https://issuer.example", "grant_types_supported": [],
                "registration_endpoint": registration_endpoint}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/.well-known"):
            return httpx.Response(200, json=metadata)
        return httpx.Response(201, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(("body", "endpoint", "refusal"), [
    (b"{" + b" " * 2_000_000 + b"}", "https://issuer.example/register", "too large"),
    (b'{"client_id": "x"}', "http://evil.example/register", "https"),
])
def test_a_hostile_registration_server_is_refused(body: bytes, endpoint: str, refusal: str,
                                                  tmp_path: Path) -> None:
    """A server no user runs on purpose: it answers through a transport of our own."""
    store = registration_store(tmp_path, use_keyring=False)
    flow = registered_client_flow(Discovery("https://issuer.example"), store, device=False)
    with httpx.Client(transport=_hostile(body, endpoint)) as http, \
            pytest.raises((AuthenticationError, ConfigError), match=refusal):
        drive_sync(flow, http.send, LockRegistry())
    assert not (tmp_path / "registrations.json").exists()


def _sign_in(issuer: str, url: str) -> None:
    """What the person does in the browser: sign in, press Allow, land on the loopback."""
    with httpx.Client(base_url=issuer) as browser:
        first = browser.get(url)
        login = browser.get(first.headers["location"])
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        next_path = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
        back = browser.post("/login", data={"csrf": csrf, "email": EMAIL,
                                            "password": PASSWORD, "next": next_path})
        consent = browser.get(back.headers["location"])
        if consent.is_redirect:  # consented before: straight back to the loopback
            httpx.get(consent.headers["location"])
            return
        fields = {name: consent.text.split(f'name="{name}" value="')[1].split('"')[0]
                  for name in ("csrf", "request")}
        done = browser.post("/oauth/authorize/decision", data={**fields, "decision": "approve"})
        httpx.get(str(done.headers["location"]).replace("&amp;", "&"))


def test_scopegate_login_needs_no_client_id(config: Path, issuer: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(config, issuer)
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(config))

    def announce(url: str) -> None:
        threading.Thread(target=_sign_in, args=(issuer, url), daemon=True).start()

    monkeypatch.setattr(providers, "_announce_url", announce)
    logins = [CliRunner().invoke(cli, ["login", "--env", "dev", "--no-browser"])
              for _ in range(2)]
    assert all(run.exit_code == 0 for run in logins), logins[0].output
    assert "Logged in to dev as" in logins[1].stderr
    registered = _stored(config)[issuer]["client_id"]
    tokens = json.loads((config / "tokens.json").read_text())["tokens"]
    assert {entry["client_id"] for entry in tokens.values()} == {registered}


def test_first_run_against_the_real_server_names_the_account_by_email(
        config: Path, issuer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first run: env add, login, status, token --json (no file written by hand)."""
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(config))
    monkeypatch.setattr(providers, "_announce_url", lambda url: threading.Thread(
        target=_sign_in, args=(issuer, url), daemon=True).start())
    steps = [["env", "add", "dev", "--issuer", issuer, "--default"],
             ["login", "--no-browser"], ["status"], ["token", "--json"]]
    runs = [CliRunner().invoke(cli, step) for step in steps]
    assert [run.exit_code for run in runs] == [0, 0, 0, 0], [r.output for r in runs]
    assert "next: scopegate login --env dev" in runs[0].stderr
    assert f"Logged in to dev as {EMAIL} with scopes:" in " ".join(runs[1].stderr.split())
    assert runs[2].stdout.startswith(f"{EMAIL} @ dev (valid")
    shown = json.loads(runs[3].stdout)
    assert sorted(shown) == ["expires_at", "scopes", "token", "token_type"]
    answer = httpx.get(issuer + "/userinfo", headers={
        "Authorization": f"Bearer {shown['token']}"})
    assert answer.json().get("email") == EMAIL, (answer.text, shown)
