"""Dynamic client registration (RFC 7591) and client management (RFC 7592), on SQLite and
PostgreSQL: what a client that knows only the issuer can do, and what it is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.server.conftest import settings_for
from tests.server.grants.flow import (
    approve,
    authorize_params,
    exchange,
    get_code,
    log_in_new_member,
    open_browser,
    pkce_pair,
    redirect_query,
)

from scopegate.server.admin.clients import find_client, list_clients, record_client_use
from scopegate.server.admin.registration import new_initial_access_token
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.ops.maintenance import maintenance, prune_expired
from scopegate.server.state import ServerState
from scopegate.store.models import utcnow

INITIAL_TOKEN, INITIAL_HASH = new_initial_access_token()
REGISTER = "/oauth/register"
LOOPBACK = "http://127.0.0.1/callback"
PUBLIC = {"client_name": "My CLI", "redirect_uris": [LOOPBACK],
          "grant_types": ["authorization_code", "refresh_token"],
          "token_endpoint_auth_method": "none"}


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    """Registration open, one initial access token known, a limit no test reaches."""
    return settings_for(database_url, registration_initial_tokens=INITIAL_HASH,
                        registration_per_address=10_000)


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


def register(http: TestClient, body: Any, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post(REGISTER, json=body, headers=headers)


def client_count(state: ServerState) -> int:
    return len(list_clients(state.db))


def test_the_metadata_advertises_registration_and_metadata_documents(http: TestClient) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        doc = http.get(path).json()
        assert doc["registration_endpoint"] == "http://testserver/oauth/register"
        assert doc["client_id_metadata_document_supported"] is True


def test_an_anonymous_public_client_registers_and_signs_a_user_in(
        http: TestClient, browser: TestClient, state: ServerState) -> None:
    answer = register(http, PUBLIC)
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["client_id"].startswith("sgc_")
    assert "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == [LOOPBACK]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["client_name"] == "My CLI"
    assert body["registration_access_token"].startswith("sgrat_")
    assert body["registration_client_uri"] == f"http://testserver{REGISTER}/{body['client_id']}"
    assert abs(body["client_id_issued_at"] - utcnow().timestamp()) < 60

    log_in_new_member(browser, state)
    code, verifier, _ = get_code(browser, body["client_id"], scope="openid api")
    tokens = exchange(browser, body["client_id"], code, verifier)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "Bearer"


def test_an_anonymous_scope_is_the_default_and_step_up_may_ask_for_more(
        http: TestClient, browser: TestClient, state: ServerState) -> None:
    body = register(http, {**PUBLIC, "scope": "apps:read"}).json()
    assert {"apps:read", "apps:run"} <= set(body["scope"].split())
    log_in_new_member(browser, state)
    verifier, challenge = pkce_pair()
    params = authorize_params(body["client_id"], challenge)
    del params["scope"]  # no scope: the client's default
    page = browser.get("/oauth/authorize", params=params, follow_redirects=False)
    code = redirect_query(approve(browser, page))["code"]
    first = exchange(browser, body["client_id"], code, verifier).json()
    assert first["scope"] == "apps:read"
    code, verifier, _ = get_code(browser, body["client_id"], scope="apps:read apps:run")
    stepped = exchange(browser, body["client_id"], code, verifier).json()
    assert set(stepped["scope"].split()) == {"apps:read", "apps:run"}


def test_with_an_initial_token_scope_is_the_limit(http: TestClient) -> None:
    body = register(http, {**PUBLIC, "scope": "apps:read"}, token=INITIAL_TOKEN).json()
    assert body["scope"] == "apps:read"


def test_the_registration_access_token_is_stored_only_as_a_hash(
        http: TestClient, state: ServerState) -> None:
    body = register(http, PUBLIC).json()
    stored = next(c for c in list_clients(state.db) if c.client_id == body["client_id"])
    assert stored.registered_dynamically
    assert stored.registration_token_hash
    assert body["registration_access_token"] not in stored.registration_token_hash


def test_an_omitted_auth_method_is_registered_public_and_echoed(http: TestClient) -> None:
    body = register(http, {"redirect_uris": ["https://app.example.com/cb"]}).json()
    assert body["token_endpoint_auth_method"] == "none"
    assert body["grant_types"] == ["authorization_code"]
    assert body["client_name"] == "unnamed client"


def test_an_initial_access_token_registers_a_confidential_machine_client(
        http: TestClient) -> None:
    answer = register(http, {"client_name": "ci", "grant_types": ["client_credentials"],
                             "token_endpoint_auth_method": "client_secret_basic",
                             "scope": "api apps:read"}, token=INITIAL_TOKEN)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["client_secret"].startswith("sgcs_")
    assert body["client_secret_expires_at"] == 0
    assert body["response_types"] == []
    token = http.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "api"},
                      auth=(body["client_id"], body["client_secret"]))
    assert token.status_code == 200, token.text


def test_a_wrong_initial_access_token_is_an_invalid_token_challenge(
        http: TestClient, state: ServerState) -> None:
    before = client_count(state)
    answer = register(http, PUBLIC, token="sgiat_not-a-real-one")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert client_count(state) == before


@pytest.mark.parametrize(("body", "error", "words"), [
    ({**PUBLIC, "redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri",
     "http on 127.0.0.1"),
    ({**PUBLIC, "redirect_uris": ["https://app.example.com/cb#frag"]}, "invalid_redirect_uri",
     "fragment"),
    ({**PUBLIC, "redirect_uris": ["https://app.example.com/" + "a" * 2000]},
     "invalid_redirect_uri", "longer than 2000"),
    ({**PUBLIC, "redirect_uris": ["com.example.app:/cb"]}, "invalid_redirect_uri",
     "initial access token"),
    ({**PUBLIC, "redirect_uris": [f"https://app.example.com/{i}" for i in range(11)]},
     "invalid_client_metadata", "at most 10"),
    ({**PUBLIC, "redirect_uris": "https://app.example.com/cb"}, "invalid_client_metadata",
     "array of strings"),
    ({**PUBLIC, "redirect_uris": []}, "invalid_client_metadata", "redirect_uris"),
    ({**PUBLIC, "client_name": "x" * 101}, "invalid_client_metadata", "1 to 100"),
    ({**PUBLIC, "client_name": "evil\nname"}, "invalid_client_metadata", "client_name"),
    ({**PUBLIC, "grant_types": ["password"]}, "invalid_client_metadata", "unknown grant type"),
    ({**PUBLIC, "grant_types": ["client_credentials"]}, "invalid_client_metadata",
     "client_credentials"),
    ({**PUBLIC, "grant_types": ["authorization_code", "device_code"]},
     "invalid_client_metadata", "initial access token"),
    ({**PUBLIC, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata",
     "token_endpoint_auth_method"),
    ({**PUBLIC, "token_endpoint_auth_method": "client_secret_post"},
     "invalid_client_metadata", "confidential"),
    ({**PUBLIC, "response_types": ["token"]}, "invalid_client_metadata", "only code"),
    ({**PUBLIC, "scope": "api no-such-scope"}, "invalid_client_metadata", "no-such-scope"),
    ({**PUBLIC, "scope": "admin:users"}, "invalid_client_metadata", "initial access token"),
    ({**PUBLIC, "logo_uri": "javascript:alert(1)"}, "invalid_client_metadata", "logo_uri"),
    ({**PUBLIC, "contacts": ["a"] * 6}, "invalid_client_metadata", "contacts"),
    (["not", "an", "object"], "invalid_client_metadata", "JSON object"),
])
def test_bad_metadata_gets_the_rfc_7591_error_and_stores_nothing(
        http: TestClient, state: ServerState, body: Any, error: str, words: str) -> None:
    before = client_count(state)
    answer = register(http, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error
    assert words in answer.json()["error_description"]
    assert client_count(state) == before


def test_a_body_that_is_not_json_or_too_large_is_refused(http: TestClient,
                                                          state: ServerState) -> None:
    before = client_count(state)
    not_json = http.post(REGISTER, content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.json() == {"error": "invalid_request",
                               "error_description": "the body is not valid JSON"}
    form = http.post(REGISTER, data={"redirect_uris": LOOPBACK})
    assert "application/json" in form.json()["error_description"]
    huge = register(http, {**PUBLIC, "software_id": "x" * 17_000})
    assert huge.status_code == 413
    assert client_count(state) == before


def manage(http: TestClient, body: dict[str, Any], method: str = "GET",
           token: str | None = None, json: Any = None) -> Any:
    token = body["registration_access_token"] if token is None else token
    return http.request(method, body["registration_client_uri"], json=json,
                        headers={"Authorization": f"Bearer {token}"})


def test_rfc_7592_reads_replaces_and_deletes_a_registration(
        http: TestClient, state: ServerState) -> None:
    body = register(http, PUBLIC).json()
    read = manage(http, body)
    assert read.status_code == 200
    assert read.json() == body
    update = {"client_id": body["client_id"], "client_name": "Renamed",
              "redirect_uris": ["https://app.example.com/cb"],
              "token_endpoint_auth_method": "none"}
    replaced = manage(http, body, "PUT", json=update)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["client_name"] == "Renamed"
    assert replaced.json()["redirect_uris"] == ["https://app.example.com/cb"]
    assert replaced.json()["grant_types"] == ["authorization_code"]  # left out: default
    assert replaced.json()["client_id"] == body["client_id"]
    assert manage(http, body, "DELETE").status_code == 204
    assert manage(http, body).status_code == 401
    assert body["client_id"] not in {c.client_id for c in list_clients(state.db)}


@pytest.mark.parametrize(("change", "words"), [
    ({"client_id": "sgc_someone_else"}, "client_id"),
    ({"registration_access_token": "x"}, "registration_access_token"),
    ({"client_secret": "guess"}, "client_secret"),
])
def test_an_update_cannot_change_the_id_or_send_server_fields(
        http: TestClient, change: dict[str, str], words: str) -> None:
    body = register(http, PUBLIC).json()
    update = {**PUBLIC, "client_id": body["client_id"], **change}
    answer = manage(http, body, "PUT", json=update)
    assert answer.status_code == 400
    assert words in answer.json()["error_description"]
    assert manage(http, body).json()["client_name"] == "My CLI"


def test_an_update_cannot_make_a_public_client_confidential(http: TestClient) -> None:
    body = register(http, PUBLIC).json()
    update = {**PUBLIC, "client_id": body["client_id"],
              "token_endpoint_auth_method": "client_secret_basic"}
    answer = manage(http, body, "PUT", json=update)
    assert answer.json()["error"] == "invalid_client_metadata"


def test_a_registration_token_opens_only_its_own_client(http: TestClient,
                                                        make_client: Any) -> None:
    mine, theirs = register(http, PUBLIC).json(), register(http, PUBLIC).json()
    for token in ("", "sgrat_wrong", theirs["registration_access_token"]):
        answer = manage(http, mine, token=token)
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_token"
    assert manage(http, mine, "DELETE", token=theirs["registration_access_token"]
                  ).status_code == 401
    operator_client, _ = make_client()
    foreign = {**mine, "registration_client_uri":
               f"http://testserver{REGISTER}/{operator_client}"}
    assert manage(http, foreign).status_code == 401


def test_a_deleted_registration_can_no_longer_get_tokens(http: TestClient) -> None:
    body = register(http, {"client_name": "bot", "grant_types": ["client_credentials"],
                           "token_endpoint_auth_method": "client_secret_post",
                           "scope": "api"}, token=INITIAL_TOKEN).json()
    assert manage(http, body, "DELETE").status_code == 204
    answer = http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": body["client_id"],
        "client_secret": body["client_secret"]})
    assert answer.status_code == 401


def test_a_token_records_the_use_of_a_self_registered_client(
        http: TestClient, browser: TestClient, state: ServerState) -> None:
    used = register(http, PUBLIC).json()["client_id"]
    log_in_new_member(browser, state)
    code, verifier, _ = get_code(browser, used, scope="api")
    assert exchange(browser, used, code, verifier).status_code == 200
    record = find_client(state.db, used)
    assert record is not None and record.last_used_at is not None


def test_unused_public_registrations_are_pruned_and_used_ones_kept(
        http: TestClient, state: ServerState, make_client: Any) -> None:
    unused = register(http, PUBLIC).json()["client_id"]
    used = register(http, PUBLIC).json()["client_id"]
    machine = register(http, {"grant_types": ["client_credentials"], "scope": "api",
                              "token_endpoint_auth_method": "client_secret_basic"},
                       token=INITIAL_TOKEN).json()["client_id"]
    operator_client, _ = make_client()
    ttl = state.settings.registration_unused_ttl
    later = utcnow() + timedelta(seconds=ttl, minutes=1)
    record_client_use(state.db, used, later - timedelta(days=1))
    report = prune_expired(state.db, now=later, unused_client_ttl=ttl)
    remaining = {c.client_id for c in list_clients(state.db)}
    assert unused not in remaining
    assert {used, machine, operator_client} <= remaining
    assert report.pruned["clients"] >= 1


def test_the_server_pass_prunes_with_the_configured_lifetime(state: ServerState,
                                                             http: TestClient) -> None:
    report = asyncio.run(maintenance(state).run_once())
    assert report is not None
    assert "clients" in report.pruned


def _app(database_url: str, **overrides: Any) -> Iterator[TestClient]:
    app = create_app(settings_for(database_url, **overrides))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'reg.db'}"


def test_anonymous_registrations_are_limited_per_address(sqlite_url: str) -> None:
    for http in _app(sqlite_url, registration_per_address=2,
                     registration_initial_tokens=INITIAL_HASH):
        assert [register(http, PUBLIC).status_code for _ in range(2)] == [201, 201]
        refused = register(http, PUBLIC)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        # an operator's initial access token is not counted against the address
        assert register(http, PUBLIC, token=INITIAL_TOKEN).status_code == 201


def test_token_mode_asks_every_registration_for_an_initial_token(sqlite_url: str) -> None:
    for http in _app(sqlite_url, registration="token",
                     registration_initial_tokens=INITIAL_HASH):
        anonymous = register(http, PUBLIC)
        assert anonymous.status_code == 401
        assert "initial access token" in anonymous.json()["error_description"]
        assert register(http, PUBLIC, token=INITIAL_TOKEN).status_code == 201


def test_off_serves_and_advertises_no_registration(sqlite_url: str) -> None:
    for http in _app(sqlite_url, registration="off"):
        assert register(http, PUBLIC).status_code == 404
        doc = http.get("/.well-known/oauth-authorization-server").json()
        assert "registration_endpoint" not in doc


@pytest.mark.parametrize(("name", "value", "words"), [
    ("registration", "sometimes", "open, token or off"),
    ("registration_initial_tokens", "not-a-hash", "SHA-256"),
    ("registration_per_address", 0, "SCOPEGATE_REGISTRATION_PER_ADDRESS"),
])
def test_bad_registration_settings_stop_start_up_with_one_line(
        sqlite_url: str, name: str, value: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        settings_for(sqlite_url, **{name: value})
