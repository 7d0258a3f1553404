"""RFC 8707 across a user's grant: one resource per access token, the refresh token
mints tokens for each resource the grant covers; refresh tokens introspect to their
own client only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.state import ServerState

from .flow import (
    SCOPES,
    authorize_params,
    exchange,
    get_code,
    log_in_new_member,
    open_browser,
    pkce_pair,
    redirect_query,
    refresh,
)
from .flow import (
    make_client as register_client,
)

ISSUER = "http://testserver"
API = "https://api.scopegate.example"
MANAGEMENT = ISSUER + "/api/v1/"
USERINFO = ISSUER + "/userinfo"
WITH_KEYS = (*SCOPES, "keys:read")


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def _aud(http: TestClient, access_token: str) -> list[str]:
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    aud = jwt.decode(access_token, keys).claims["aud"]
    return aud if isinstance(aud, list) else [aud]


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def test_an_ambiguous_authorization_request_is_invalid_target(logged_in: TestClient,
                                                              state: ServerState) -> None:
    client_id, _ = register_client(state, scopes=WITH_KEYS)
    _, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, scope="openid apps:read keys:read")
    query = redirect_query(logged_in.get("/oauth/authorize", params=params,
                                         follow_redirects=False))
    assert query["error"] == "invalid_target"
    assert "resource=" in query["error_description"]


def test_the_refresh_token_mints_a_token_for_each_resource(logged_in: TestClient,
                                                           state: ServerState) -> None:
    client_id, _ = register_client(state, scopes=WITH_KEYS)
    code, verifier, _ = get_code(logged_in, client_id, scope="openid apps:read keys:read",
                                 resource=API)
    body = exchange(logged_in, client_id, code, verifier).json()
    assert _aud(logged_in, body["access_token"]) == [API, USERINFO]
    assert logged_in.get("/api/v1/keys", headers=_bearer(body["access_token"])
                         ).status_code == 401
    management = refresh(logged_in, client_id, body["refresh_token"], resource=MANAGEMENT)
    assert management.status_code == 200, management.text
    tokens = management.json()
    assert _aud(logged_in, tokens["access_token"]) == [MANAGEMENT, USERINFO]
    assert logged_in.get("/api/v1/keys", headers=_bearer(tokens["access_token"])
                         ).status_code == 200
    # Without resource, a refresh keeps the grant's own resource.
    again = refresh(logged_in, client_id, tokens["refresh_token"]).json()
    assert _aud(logged_in, again["access_token"]) == [API, USERINFO]
    foreign = refresh(logged_in, client_id, again["refresh_token"],
                      resource="https://other.example")
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_target"


def test_a_refresh_token_introspects_only_to_its_client(logged_in: TestClient,
                                                        state: ServerState,
                                                        make_client: Any) -> None:
    client_id, secret = register_client(state, public=False)
    code, verifier, _ = get_code(logged_in, client_id)
    body = exchange(logged_in, client_id, code, verifier, secret=secret).json()
    form = {"token": body["refresh_token"]}
    bot = make_client()  # a client-credentials bot of someone else
    assert logged_in.post("/oauth/introspect", data=form, auth=bot).json() == {
        "active": False}
    resource_server = make_client(resource_servers=(API,))
    assert logged_in.post("/oauth/introspect", data=form, auth=resource_server).json() == {
        "active": False}
    own = logged_in.post("/oauth/introspect", data=form, auth=(client_id, secret)).json()
    assert own["active"] is True and own["client_id"] == client_id
    assert own["token_type"] == "N_A"  # RFC 8693 §3: registered, "not an access token"
