"""The server's own APIs hold themselves to the audience rule (issue 9).

The management API (``/api/v1/*``) and ``/userinfo`` accept only tokens whose ``aud``
names them; a key minted from a token never holds more than the token; a request whose
scopes target several resources must say which one (RFC 8707 ``resource``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from scopegate.server.state import ServerState
from scopegate.store.models.users import User
from scopegate.tokens import access_token_claims

ClientFactory = Callable[..., tuple[str, str]]
ISSUER = "http://testserver"
API = "https://api.scopegate.example"
MANAGEMENT = ISSUER + "/api/v1/"
USERINFO = ISSUER + "/userinfo"
KEYS = "/api/v1/keys"


def make_user(state: ServerState, role: str = "member") -> str:
    user_id = f"usr_{uuid.uuid4().hex[:12]}"
    with state.db.session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", password_hash="x",
                         role=role))
    return user_id


def bearer(state: ServerState, user_id: str, scope: str,
           audience: Iterable[str]) -> dict[str, str]:
    """A user access token exactly as the token endpoint signs it."""
    claims = access_token_claims(issuer=ISSUER, subject=user_id, subject_type="user",
                                 client_id="cli", audience=tuple(audience),
                                 scopes=scope.split(), ttl=300)
    return {"Authorization": "Bearer " + state.signing_keys.signer.sign(claims, typ="at+jwt")}


def claims_of(http: TestClient, access_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    return dict(jwt.decode(access_token, keys).claims)


# -- replay of a token meant for another API ---------------------------------------------

def test_an_api_token_replayed_at_the_keys_api_is_refused(http: TestClient,
                                                          state: ServerState) -> None:
    # What the example API receives on every call: aud is the API only.
    headers = bearer(state, make_user(state), "apps:read keys:write keys:read", [API])
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=headers)
    assert created.status_code == 401, created.text
    assert created.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in created.headers["www-authenticate"]
    assert MANAGEMENT in created.json()["error_description"]
    assert http.get(KEYS, headers=headers).status_code == 401


def test_an_api_token_replayed_at_userinfo_is_refused(http: TestClient,
                                                      state: ServerState) -> None:
    headers = bearer(state, make_user(state), "openid profile apps:read", [API])
    answer = http.get("/userinfo", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_a_management_token_is_not_taken_for_userinfo_unless_it_says_so(
        http: TestClient, state: ServerState) -> None:
    user = make_user(state)
    only_management = bearer(state, user, "openid keys:read", [MANAGEMENT])
    assert http.get("/userinfo", headers=only_management).status_code == 401
    oidc = bearer(state, user, "openid keys:read", [MANAGEMENT, USERINFO])
    assert http.get("/userinfo", headers=oidc).status_code == 200
    assert http.get(KEYS, headers=oidc).status_code == 200


# -- a key never holds more than the token it was minted with -----------------------------

def test_a_key_is_capped_by_the_token_that_mints_it(http: TestClient,
                                                    state: ServerState) -> None:
    headers = bearer(state, make_user(state), "keys:write apps:read", [MANAGEMENT])
    for body in ({"scopes": ["apps:run"]}, {"scopes": ["apps:read", "apps:run"]},
                 {"scope": "scopegate:all"}, {"name": "no scopes named: all of them"}):
        refused = http.post(KEYS, json=body, headers=headers)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"] == "invalid_scope"
        assert "apps:read" not in refused.json()["error_description"].split(": ")[-1]
    assert http.get(KEYS, headers=headers).json()["keys"] == []  # nothing stored
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["scopes"] == ["apps:read"]


def test_rotating_a_key_needs_a_token_that_covers_it(http: TestClient,
                                                     state: ServerState) -> None:
    user = make_user(state)
    wide = bearer(state, user, "keys:write apps:run", [MANAGEMENT])
    created = http.post(KEYS, json={"scopes": ["apps:run"]}, headers=wide).json()
    narrow = bearer(state, user, "keys:write apps:read", [MANAGEMENT])
    refused = http.post(f"{KEYS}/{created['id']}/rotate", headers=narrow)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert http.post(f"{KEYS}/{created['id']}/rotate", headers=wide).status_code == 200


def test_the_role_still_caps_a_key(http: TestClient, state: ServerState) -> None:
    headers = bearer(state, make_user(state, "viewer"), "keys:write scopegate:all",
                     [MANAGEMENT])
    refused = http.post(KEYS, json={"scopes": ["apps:run"]}, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


# -- RFC 8707: one resource per access token ---------------------------------------------

def token(http: TestClient, client: tuple[str, str], **form: Any) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                     auth=client)


def test_scopes_of_two_resources_need_a_resource(http: TestClient,
                                                 make_client: ClientFactory) -> None:
    client = make_client(scopes=("api", "apps:read", "keys:read"), defaults=("api",))
    ambiguous = token(http, client, scope="apps:read keys:read")
    assert ambiguous.status_code == 400
    assert ambiguous.json()["error"] == "invalid_target"
    said = ambiguous.json()["error_description"]
    assert f"resource={API}" in said and f"resource={MANAGEMENT}" in said
    for resource in (API, MANAGEMENT):
        chosen = token(http, client, scope="apps:read keys:read", resource=resource)
        assert chosen.status_code == 200, chosen.text
        assert claims_of(http, chosen.json()["access_token"])["aud"] == resource


def test_one_token_is_never_for_the_management_api_and_another(
        http: TestClient, make_client: ClientFactory) -> None:
    client = make_client(scopes=("api", "apps:read", "keys:read"), defaults=("api",))
    r = http.post("/oauth/token", auth=client, data={
        "grant_type": "client_credentials", "scope": "apps:read keys:read",
        "resource": [API, MANAGEMENT]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"


def test_a_token_for_one_api_names_only_it(http: TestClient,
                                           make_client: ClientFactory) -> None:
    client = make_client(scopes=("api", "keys:read"), defaults=("api",))
    claims = claims_of(http, token(http, client, scope="keys:read").json()["access_token"])
    assert claims["aud"] == MANAGEMENT
    claims = claims_of(http, token(http, client, scope="api").json()["access_token"])
    assert claims["aud"] == API


@pytest.mark.parametrize("scope", ["openid", "openid api"])
def test_oidc_tokens_also_name_userinfo(http: TestClient, make_client: ClientFactory,
                                        scope: str) -> None:
    client = make_client(scopes=("api", "openid"), defaults=("api",))
    claims = claims_of(http, token(http, client, scope=scope).json()["access_token"])
    expected = [USERINFO] if scope == "openid" else [API, USERINFO]
    aud = claims["aud"]
    assert (aud if isinstance(aud, list) else [aud]) == expected
