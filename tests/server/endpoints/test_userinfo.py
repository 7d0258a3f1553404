"""/userinfo and the OpenID discovery document a strict relying party accepts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.app import create_app
from scopegate.server.state import ServerState

from ..conftest import settings_for
from ..grants.flow import (
    exchange,
    get_code,
    log_in_new_member,
    make_client,
    open_browser,
)

ISSUER = "http://testserver"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def _tokens(http: TestClient, state: ServerState, scope: str) -> tuple[str, dict[str, Any]]:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(http, client_id, scope=scope)
    return client_id, exchange(http, client_id, code, verifier).json()


def _userinfo(http: TestClient, token: str) -> Any:
    return http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_userinfo_honours_profile_and_email(logged_in: TestClient, state: ServerState) -> None:
    _, bare = _tokens(logged_in, state, "openid")
    claims = _userinfo(logged_in, bare["access_token"]).json()
    assert set(claims) == {"sub"} and claims["sub"].startswith("usr_")
    _, full = _tokens(logged_in, state, "openid profile email")
    info = _userinfo(logged_in, full["access_token"])
    assert info.headers["cache-control"] == "no-store"
    body = info.json()
    assert body["name"] == "Ada Lovelace" and body["email"].endswith("@example.org")
    assert body["email_verified"] is False


def test_userinfo_refusals(logged_in: TestClient, http: TestClient, state: ServerState,
                           make_client: Any) -> None:
    missing = http.get("/userinfo")
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = _userinfo(http, "not.a.jwt")
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_token"
    _, no_openid = _tokens(logged_in, state, "api")
    lacking = _userinfo(http, no_openid["access_token"])
    assert lacking.status_code == 403 and lacking.json()["error"] == "insufficient_scope"
    assert 'scope="openid"' in lacking.headers["www-authenticate"]
    service = make_client(scopes=("openid", "api"), defaults=("openid",))
    machine = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=service).json()
    refused = _userinfo(http, machine["access_token"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


def test_https_discovery_passes_authlib_strict_validation(database_url: str) -> None:
    settings = settings_for(database_url, issuer="https://id.example")
    with TestClient(create_app(settings), base_url="https://id.example") as http:
        doc = http.get("/.well-known/openid-configuration").json()
    metadata = OpenIDProviderMetadata(doc)
    checks = [name for name in dir(metadata) if name.startswith("validate_")]
    assert len(checks) > 20
    failures = {}
    for name in checks:
        try:
            getattr(metadata, name)()
        except ValueError as exc:
            failures[name] = str(exc)
    assert failures == {}  # every Authlib check, RS256 in the ID-token algs included
    assert doc["issuer"] == "https://id.example"


def test_discovery_and_id_token_validate_with_authlib(logged_in: TestClient,
                                                            state: ServerState) -> None:
    doc = logged_in.get("/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"] == ISSUER + "/oauth/authorize"
    assert doc["device_authorization_endpoint"] == ISSUER + "/oauth/device_authorization"
    assert doc["userinfo_endpoint"] == ISSUER + "/userinfo"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"} <= set(doc["grant_types_supported"])
    assert {"sub", "name", "email", "nonce", "auth_time"} <= set(doc["claims_supported"])
    client_id, body = _tokens(logged_in, state, "openid email")
    keys = JsonWebKey.import_key_set(logged_in.get("/jwks.json").json())
    claims = jwt.decode(body["id_token"], keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"value": ISSUER}, "aud": {"value": client_id}},
                        claims_params={"nonce": "n-1", "access_token": body["access_token"],
                                       "client_id": client_id})
    claims.validate()  # checks iss, aud, exp, iat, nonce, at_hash, auth_time
