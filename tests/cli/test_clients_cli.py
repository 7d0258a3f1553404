"""``scopegate clients`` and ``signing-keys``/``db`` commands through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.crypto.kek import load_keks
from scopegate.server.state import PEPPER_SECRET
from scopegate.store import Database
from scopegate.store.repositories import ClientRepository, SecretRepository
from scopegate.tokens import verify_client_secret


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_create_prints_the_secret_once_and_stores_only_its_hash(env: dict[str, str]) -> None:
    code, out, _ = run(env, "clients", "create", "--name", "ci-bot", "--grant",
                       "client_credentials", "--scope", "api", "--scope", "apps:read", "--json")
    assert code == 0
    created = json.loads(out)
    db = Database(env["SCOPEGATE_DATABASE_URL"])
    record = ClientRepository(db).get(created["client_id"])
    assert record is not None and record.allowed_scopes == {"api", "apps:read"}
    assert record.default_scopes == {"api"}
    assert created["client_secret"] not in (record.secret_hash or "")
    keks = load_keks(Settings.from_env(env=env), may_create=False)  # the local key file
    pepper = SecretRepository(db, keks).get_or_create(PEPPER_SECRET)
    assert verify_client_secret(pepper, created["client_secret"], record.secret_hash)
    code, out, _ = run(env, "clients", "list", "--json")
    listed = json.loads(out)
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    assert "client_secret" not in out and created["client_secret"] not in out


def test_aliases_and_urn_grants_are_stored_canonically(env: dict[str, str]) -> None:
    code, _out, _ = run(env, "clients", "create", "--name", "x", "--grant",
                       "urn:ietf:params:oauth:grant-type:client_credentials",
                       "--scope", "all", "--json")
    assert code == 0
    listed = json.loads(run(env, "clients", "list", "--json")[1])
    assert listed[0]["grant_types"] == ["client_credentials"]
    assert listed[0]["scopes"] == ["scopegate:all"]


def test_delete(env: dict[str, str]) -> None:
    cid = json.loads(run(env, "clients", "create", "--name", "x", "--json")[1])["client_id"]
    assert run(env, "clients", "delete", cid)[0] == 0
    code, _, err = run(env, "clients", "delete", cid)
    assert code == 1 and "no client" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "nope"], "unknown scope"),
    (["--scope", "bad scope"], "invalid scope token"),
    (["--grant", "password"], "unknown grant type"),
    (["--public"], "public client cannot use client_credentials"),
    (["--grant", "authorization_code"], "--redirect-uri"),
    (["--grant", "authorization_code", "--redirect-uri", "ftp://x"], "http(s)"),
    (["--grant", "token-exchange"], "token exchange needs --resource-server"),
    (["--grant", "token-exchange", "--public", "--resource-server", "https://api.example"],
     "public client cannot use token exchange"),
])
def test_bad_input_is_one_line_and_exit_code_2(env: dict[str, str], args: list[str],
                                               message: str) -> None:
    code, out, err = run(env, "clients", "create", "--name", "x", *args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err + out


def test_bad_database_url_is_a_clear_error() -> None:
    code, _, err = run({"SCOPEGATE_DATABASE_URL": "nonsense"}, "clients", "list")
    assert code == 2 and "SCOPEGATE_DATABASE_URL (--database-url) must be an sqlite:///" in err


def test_db_upgrade_and_signing_keys(env: dict[str, str]) -> None:
    code, out, _ = run(env, "db", "upgrade")
    assert code == 0 and "revision" in out
    before = json.loads(run(env, "signing-keys", "list", "--json")[1])
    # One access-token key and one RS256 key for OpenID Connect ID tokens.
    assert sorted(k["alg"] for k in before) == ["ES256", "RS256"]
    assert all(k["active"] for k in before)
    code, out, _ = run(env, "signing-keys", "rotate")
    assert code == 0
    after = json.loads(run(env, "signing-keys", "list", "--json")[1])
    assert len(after) == 4
    active = [k for k in after if k["active"]]
    assert sorted(k["alg"] for k in active) == ["ES256", "RS256"]
    assert next(k["kid"] for k in active if k["alg"] == "ES256") in out
    retired = [k for k in after if not k["active"]]
    assert {k["kid"] for k in retired} == {k["kid"] for k in before}
    assert all(k["publish_until"] for k in retired)


def test_a_resource_server_names_the_resources_it_serves(env: dict[str, str]) -> None:
    code, out, _ = run(env, "clients", "create", "--name", "example-api guard",
                       "--resource-server", "https://api.scopegate.example", "--json")
    assert code == 0
    client_id = json.loads(out)["client_id"]
    record = ClientRepository(Database(env["SCOPEGATE_DATABASE_URL"])).get(client_id)
    assert record is not None
    assert record.resource_servers == {"https://api.scopegate.example"}
    listed = json.loads(run(env, "clients", "list", "--json")[1])
    assert listed[0]["resource_servers"] == ["https://api.scopegate.example"]


@pytest.mark.parametrize("uri", ["not a uri", "https://api.example/#frag", "api.example"])
def test_a_bad_resource_server_is_refused(env: dict[str, str], uri: str) -> None:
    code, _, err = run(env, "clients", "create", "--name", "x", "--resource-server", uri)
    assert code == 2 and "--resource-server" in err
    assert json.loads(run(env, "clients", "list", "--json")[1]) == []


def test_a_public_client_cannot_be_a_resource_server(env: dict[str, str]) -> None:
    code, _, err = run(env, "clients", "create", "--name", "x", "--public", "--grant",
                       "device_code", "--resource-server", "https://api.scopegate.example")
    assert code == 2 and "public" in err


def test_rotate_secret_gives_a_new_secret_and_the_old_one_stops_working(
        env: dict[str, str]) -> None:
    created = json.loads(run(env, "clients", "create", "--name", "bot", "--scope", "api",
                             "--json")[1])
    code, out, err = run(env, "clients", "rotate-secret", created["client_id"])
    assert code == 0 and "never shown again" in err
    new_secret = out.split("client_secret:")[1].strip()
    assert new_secret and new_secret != created["client_secret"]
    settings = Settings.from_env(env={}, database_url=env["SCOPEGATE_DATABASE_URL"],
                                 issuer="http://testserver")
    with TestClient(create_app(settings)) as http:
        form = {"grant_type": "client_credentials"}
        old = http.post("/oauth/token", data=form,
                        auth=(created["client_id"], created["client_secret"]))
        new = http.post("/oauth/token", data=form, auth=(created["client_id"], new_secret))
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert new.status_code == 200 and new.json()["scope"] == "api"


@pytest.mark.parametrize(("public", "code", "message"), [
    (True, 2, "public: it has no secret"), (None, 1, "no client 'sgc_nope'")])
def test_rotate_secret_refusals(env: dict[str, str], public: bool | None, code: int,
                                message: str) -> None:
    client_id = "sgc_nope"
    if public:
        client_id = json.loads(run(env, "clients", "create", "--name", "cli", "--public",
                                   "--grant", "device_code", "--json")[1])["client_id"]
    failed, out, err = run(env, "clients", "rotate-secret", client_id, "--json")
    assert (failed, out) == (code, "") and message in err
