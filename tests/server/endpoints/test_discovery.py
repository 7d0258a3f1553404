"""Metadata (RFC 8414), JWKS, the public scope catalog, OpenAPI, metrics, 404/405."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from scopegate.server.management import openapi, scopes_api
from scopegate.server.oauth2 import introspect, metadata, revoke, token
from scopegate.server.ops import metrics_endpoint as metrics
from scopegate.server.signing import jwks

CORE_MODULES = [metadata, jwks, token, introspect, revoke, scopes_api, openapi, metrics]

ClientFactory = Callable[..., tuple[str, str]]
ISSUER = "http://testserver"


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server",
                                  "/.well-known/openid-configuration"])
def test_metadata_advertises_every_endpoint(http: TestClient, path: str) -> None:
    doc = http.get(path).json()
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == ISSUER + "/oauth/token"
    assert doc["jwks_uri"] == ISSUER + "/jwks.json"
    assert doc["introspection_endpoint"] == ISSUER + "/oauth/introspect"
    assert doc["revocation_endpoint"] == ISSUER + "/oauth/revoke"
    assert "client_credentials" in doc["grant_types_supported"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic",
                                                            "client_secret_post", "none"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["resource_indicators_supported"] is True


def test_scopes_supported_lists_public_scopes_only(http: TestClient) -> None:
    scopes = http.get("/.well-known/oauth-authorization-server").json()["scopes_supported"]
    assert {"api", "openid", "apps:read", "scopegate:all"} <= set(scopes)
    assert "admin:clients" not in scopes and "admin:users" not in scopes
    assert "all" not in scopes  # aliases are not separate scopes


def test_jwks_publishes_the_signing_key(http: TestClient, make_client: ClientFactory) -> None:
    r = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                  auth=make_client())
    import jwt

    kid = jwt.get_unverified_header(r.json()["access_token"])["kid"]
    keys = http.get("/jwks.json").json()["keys"]
    assert kid in {k["kid"] for k in keys}
    assert all("d" not in k for k in keys)  # never the private part


def test_public_scope_catalog(http: TestClient) -> None:
    scopes = {s["name"]: s for s in http.get("/api/v1/scopes").json()["scopes"]}
    assert scopes["api"]["audience"] == "https://api.scopegate.example"
    assert scopes["scopegate:all"]["aliases"] == ["all"]
    assert scopes["openid"]["description"]
    assert "admin:users" not in scopes


def test_openapi_covers_every_core_route(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    served = {getattr(r, "path", None) for module in CORE_MODULES for r in module.routes}
    assert served <= set(spec["paths"])
    assert spec["paths"]["/oauth/token"]["post"]["requestBody"]["content"]


def test_metrics_count_issued_tokens(http: TestClient, make_client: ClientFactory) -> None:
    http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=make_client())
    text = http.get("/metrics").text
    assert 'scopegate_tokens_issued_total{grant_type="client_credentials"}' in text


def test_unknown_path_and_wrong_method_are_json(http: TestClient) -> None:
    r = http.get("/nope")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = http.get("/oauth/token")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
