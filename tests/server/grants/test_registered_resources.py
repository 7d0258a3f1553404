"""A resource registered with ``scopegate resources add`` (RFC 8707): a token for it names
it as ``aud`` and carries only the scopes it offers, for every grant; an unknown resource
is ``invalid_target``; a running server sees a resource added or removed by the CLI."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scopegate.cli.main import app as cli
from scopegate.server.admin.resources import add_resource, remove_resource, resource_spec
from scopegate.server.state import ServerState
from scopegate.store.models import DeviceCode
from scopegate.store.repositories.resources import ResourceRepository

from ..conftest import ISSUER, TEST_KEK, ClientFactory
from .flow import (
    DEVICE,
    SCOPES,
    authorize_params,
    exchange,
    get_code,
    hidden,
    log_in_new_member,
    open_browser,
    pkce_pair,
    redirect_query,
    refresh,
)
from .flow import make_client as make_user_client

API = "https://api.scopegate.example"
USERINFO = ISSUER + "/userinfo"
MCP = "http://127.0.0.1:8765/mcp"


@pytest.fixture(scope="module")
def mcp(state: ServerState) -> str:
    """The MCP server of the issue, registered as the CLI would register it."""
    spec = resource_spec(state.catalog, identifier=MCP, scopes=["apps:read", "apps:run"],
                         name="MCP example")
    add_resource(state.db, spec, state.resources.static)
    state.resources.invalidate()
    return MCP


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def claims_of(http: TestClient, access_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    return dict(jwt.decode(access_token, keys).claims)


def machine_token(http: TestClient, client: tuple[str, str], **form: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                     auth=client)


# -- client credentials ------------------------------------------------------------------

def test_a_token_for_a_registered_resource_names_it_and_carries_only_its_scopes(
        http: TestClient, make_client: ClientFactory, mcp: str) -> None:
    client = make_client(scopes=("api", "apps:read", "apps:run"))
    answer = machine_token(http, client, scope="api apps:read", resource=mcp)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "apps:read"
    claims = claims_of(http, answer.json()["access_token"])
    assert claims["aud"] == mcp and claims["scope"] == "apps:read"


def test_without_scope_the_token_gets_everything_the_resource_offers_the_client(
        http: TestClient, make_client: ClientFactory, mcp: str) -> None:
    client = make_client(scopes=("api", "apps:read", "apps:run", "apps:write"))
    answer = machine_token(http, client, resource=mcp)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "apps:read apps:run"


def test_a_wide_scope_gives_way_to_what_the_resource_offers(
        http: TestClient, make_client: ClientFactory, mcp: str) -> None:
    client = make_client(scopes=("scopegate:all",), defaults=("scopegate:all",))
    answer = machine_token(http, client, scope="scopegate:all", resource=mcp)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "apps:read apps:run"


@pytest.mark.parametrize(("form", "error", "words"), [
    ({"resource": "https://unknown.example/api"}, "invalid_target", "is registered here"),
    ({"resource": MCP + "#frag"}, "invalid_target", "without a fragment"),
    ({"resource": "not a url"}, "invalid_target", "absolute URI"),
    ({"resource": "http://[::1"}, "invalid_target", "absolute URI"),
    ({"resource": MCP, "scope": "api"}, "invalid_scope", "offers: apps:read apps:run"),
])
def test_bad_targets_are_refused_with_a_sentence(
        http: TestClient, make_client: ClientFactory, mcp: str, form: dict[str, str],
        error: str, words: str) -> None:
    client = make_client(scopes=("api", "apps:read"))
    answer = machine_token(http, client, **form)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error
    assert words in answer.json()["error_description"]


def test_a_client_that_may_use_nothing_the_resource_offers_is_invalid_target(
        http: TestClient, make_client: ClientFactory, mcp: str) -> None:
    answer = machine_token(http, make_client(scopes=("api",)), resource=mcp)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_target"
    assert "none of the scopes" in answer.json()["error_description"]


def test_catalog_audiences_keep_working_as_resources(
        http: TestClient, make_client: ClientFactory) -> None:
    answer = machine_token(http, make_client(scopes=("api", "apps:read")),
                           scope="api apps:read", resource=API)
    assert answer.status_code == 200, answer.text
    assert claims_of(http, answer.json()["access_token"])["aud"] == API
    assert answer.json()["scope"] == "api apps:read"


# -- introspection -----------------------------------------------------------------------

def test_its_server_may_introspect_its_tokens_until_it_is_removed(
        http: TestClient, make_client: ClientFactory, state: ServerState) -> None:
    other = "https://other.example/api"
    add_resource(state.db, resource_spec(state.catalog, identifier=other,
                                         scopes=["apps:read"]), state.resources.static)
    state.resources.invalidate()
    reader = make_client(scopes=("apps:read",), defaults=("apps:read",))
    token = machine_token(http, reader, resource=other)
    assert token.status_code == 200, token.text
    guard = make_client(resource_servers=(other,))
    form = {"token": token.json()["access_token"]}
    seen = http.post("/oauth/introspect", data=form, auth=guard).json()
    assert seen["active"] is True and seen["aud"] == other
    remove_resource(state.db, other, state.resources.static)
    state.resources.invalidate()
    assert http.post("/oauth/introspect", data=form, auth=guard).json() == {"active": False}
    again = machine_token(http, reader, resource=other)
    assert again.json()["error"] == "invalid_target"


# -- the CLI against a running server ----------------------------------------------------

def test_a_resource_added_with_the_cli_is_served_without_restart(
        http: TestClient, make_client: ClientFactory, state: ServerState) -> None:
    url = "https://cli-added.example/api"
    client = make_client(scopes=("apps:read", "apps:run"), defaults=("apps:read",))
    assert machine_token(http, client, resource=url).json()["error"] == "invalid_target"
    env = {"SCOPEGATE_DATABASE_URL": state.settings.database_url, "SCOPEGATE_ISSUER": ISSUER}
    if not state.db.is_sqlite:
        env["SCOPEGATE_KEK"] = TEST_KEK
    added = CliRunner().invoke(cli, ["resources", "add", url, "--scope", "apps:run",
                                     "--json"], env=env)
    assert added.exit_code == 0, added.stderr
    assert json.loads(added.stdout)["scopes"] == ["apps:run"]
    deadline = time.monotonic() + state.resources.snapshot.ttl + 2
    while (answer := machine_token(http, client, resource=url)).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    assert answer.json()["scope"] == "apps:read apps:run"  # apps:run implies apps:read


# -- authorization code and refresh ------------------------------------------------------

def test_code_flow_with_a_registered_resource_at_authorize_and_token(
        logged_in: TestClient, state: ServerState, mcp: str) -> None:
    client_id, _ = make_user_client(state, scopes=SCOPES)
    code, verifier, _ = get_code(logged_in, client_id, scope="openid apps:read apps:run",
                                 resource=mcp)
    body = exchange(logged_in, client_id, code, verifier).json()
    claims = claims_of(logged_in, body["access_token"])
    assert claims["aud"] == [mcp, USERINFO]
    assert claims["scope"] == "apps:read apps:run openid"
    kept = refresh(logged_in, client_id, body["refresh_token"]).json()
    assert claims_of(logged_in, kept["access_token"])["aud"] == [mcp, USERINFO]
    narrowed = refresh(logged_in, client_id, kept["refresh_token"], scope="apps:read")
    assert claims_of(logged_in, narrowed.json()["access_token"])["aud"] == mcp
    assert narrowed.json()["scope"] == "apps:read"


def test_a_code_from_the_catalog_api_can_be_exchanged_for_the_registered_resource(
        logged_in: TestClient, state: ServerState, mcp: str) -> None:
    client_id, _ = make_user_client(state, scopes=SCOPES)
    code, verifier, params = get_code(logged_in, client_id, scope="api apps:read",
                                      resource=API)
    body = logged_in.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": client_id,
        "redirect_uri": params["redirect_uri"], "code_verifier": verifier,
        "resource": mcp}).json()
    assert claims_of(logged_in, body["access_token"])["aud"] == mcp
    assert body["scope"] == "apps:read"
    back = refresh(logged_in, client_id, body["refresh_token"], resource=API).json()
    assert back["scope"] == "api apps:read"


def test_an_unknown_resource_at_authorize_is_redirected_as_invalid_target(
        logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_user_client(state, scopes=SCOPES)
    _, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, scope="apps:read",
                              resource="https://nobody.example/mcp")
    query = redirect_query(logged_in.get("/oauth/authorize", params=params,
                                         follow_redirects=False))
    assert query["error"] == "invalid_target"
    assert "nobody.example" in query["error_description"]


# -- device flow -------------------------------------------------------------------------

def test_device_flow_with_a_registered_resource(logged_in: TestClient, http: TestClient,
                                                state: ServerState, mcp: str) -> None:
    client_id, _ = make_user_client(state, scopes=SCOPES)
    start = http.post("/oauth/device_authorization",
                      data={"client_id": client_id, "resource": mcp})
    assert start.status_code == 200, start.text
    page = logged_in.get("/device", params={"user_code": start.json()["user_code"]})
    confirm = logged_in.post("/device", data={"csrf": hidden(page.text, "csrf"),
                                              "user_code": hidden(page.text, "user_code")})
    assert "Run apps" in confirm.text  # no scope asked: what the resource offers
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', confirm.text))
    logged_in.post("/device", data={**fields, "decision": "approve"})
    with state.db.session() as session:
        session.execute(sa.update(DeviceCode).values(last_polled_at=None))
    tokens = http.post("/oauth/token", data={"grant_type": DEVICE, "client_id": client_id,
                                             "device_code": start.json()["device_code"]})
    assert tokens.status_code == 200, tokens.text
    assert claims_of(http, tokens.json()["access_token"])["aud"] == mcp
    assert tokens.json()["scope"] == "apps:read apps:run"


def test_device_authorization_for_an_unknown_resource_stores_nothing(
        http: TestClient, state: ServerState) -> None:
    client_id, _ = make_user_client(state, scopes=SCOPES)
    with state.db.session() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(DeviceCode))
    answer = http.post("/oauth/device_authorization",
                       data={"client_id": client_id, "resource": "https://nobody.example"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"
    with state.db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DeviceCode)) == before
    assert ResourceRepository(state.db).get("https://nobody.example") is None
