"""RFC 7662 §4: only the token's own client and the resource servers it is meant for
learn anything; a JWT whose ``aud`` the server does not know is inactive."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from scopegate.server.state import ServerState
from scopegate.store.models.users import User
from scopegate.tokens import access_token_claims

ClientFactory = Callable[..., tuple[str, str]]
ISSUER = "http://testserver"
API = "https://api.scopegate.example"
MANAGEMENT = ISSUER + "/api/v1/"


def issue(http: TestClient, client: tuple[str, str], **form: str) -> str:
    r = http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                  auth=client)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def introspect(http: TestClient, client: tuple[str, str], tok: str) -> Any:
    r = http.post("/oauth/introspect", data={"token": tok}, auth=client)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_foreign_client_learns_nothing(http: TestClient,
                                         make_client: ClientFactory) -> None:
    owner = make_client()
    tok = issue(http, owner)
    assert introspect(http, make_client(), tok) == {"active": False}
    other_api = make_client(resource_servers=("https://other.example",))
    assert introspect(http, other_api, tok) == {"active": False}
    management = make_client(resource_servers=(MANAGEMENT,))
    assert introspect(http, management, tok) == {"active": False}


def test_the_owner_and_the_resource_server_learn_the_claims(
        http: TestClient, make_client: ClientFactory) -> None:
    owner = make_client()
    tok = issue(http, owner)
    for caller in (owner, make_client(resource_servers=(API,))):
        answer = introspect(http, caller, tok)
        assert answer["active"] is True and answer["client_id"] == owner[0]
        assert answer["token_type"] == "Bearer" and answer["aud"] == API


def _signed(state: ServerState, client_id: str, audience: tuple[str, ...] | None) -> str:
    claims = access_token_claims(issuer=ISSUER, subject=client_id, subject_type="service",
                                 client_id=client_id, audience=audience or (ISSUER,),
                                 scopes=["api"], ttl=300)
    if audience is None:
        claims = {k: v for k, v in claims.items() if k != "aud"}
    return state.signing_keys.signer.sign(claims, typ="at+jwt")


@pytest.mark.parametrize("audience", [None, ("https://unknown.example",),
                                      (API, "https://unknown.example")])
def test_a_jwt_with_no_or_an_unknown_audience_is_inactive(
        http: TestClient, state: ServerState, make_client: ClientFactory,
        audience: tuple[str, ...] | None) -> None:
    owner = make_client(resource_servers=("https://unknown.example", API))
    assert introspect(http, owner, _signed(state, owner[0], audience)) == {"active": False}


def test_an_api_key_answers_its_resource_servers_with_a_registered_token_type(
        http: TestClient, state: ServerState, make_client: ClientFactory) -> None:
    user_id = f"usr_{uuid.uuid4().hex[:12]}"
    with state.db.session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", password_hash="x",
                         role="member"))
    claims = access_token_claims(issuer=ISSUER, subject=user_id, subject_type="user",
                                 client_id="cli", audience=(MANAGEMENT,),
                                 scopes=["keys:write", "apps:read"], ttl=300)
    headers = {"Authorization": "Bearer " + state.signing_keys.signer.sign(claims, typ="at+jwt")}
    created = http.post("/api/v1/keys", json={"scopes": ["apps:read"]}, headers=headers)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert introspect(http, make_client(), key) == {"active": False}
    answer = introspect(http, make_client(resource_servers=(API,)), key)
    assert answer["active"] is True and answer["token_type"] == "Bearer"
    assert answer["key_id"] == created.json()["id"]
