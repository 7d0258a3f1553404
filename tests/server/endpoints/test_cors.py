"""CORS: browser apps may call metadata, JWKS, token, revocation and userinfo from the
origin of a registered client's redirect URI (public documents from any origin); pages
and the management API stay same-origin; credentials are never allowed."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import register_client
from scopegate.server.state import ServerState

SPA = "https://spa.example"
OTHER_SPA = "https://other-spa.example"
STRANGER = "https://evil.example"
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-allow-credentials",
                "access-control-expose-headers")


def _register(state: ServerState, redirect: str,
              grants: tuple[str, ...] = ("client_credentials", "authorization_code")
              ) -> tuple[str, str]:
    spec = ClientSpec(name="spa", grant_types=grants,
                      allowed_scopes=frozenset({"api", "apps:read"}),
                      default_scopes=frozenset({"api"}), redirect_uris=(redirect,))
    record, secret = register_client(state.db, state.pepper, spec)
    state.client_origins.snapshot.ttl = 0  # see every client registered by these tests at once
    return record.client_id, secret


@pytest.fixture(scope="module")
def spa(state: ServerState) -> tuple[str, str]:
    _register(state, OTHER_SPA + "/callback")
    return _register(state, SPA + "/callback")


def _preflight(http: TestClient, path: str, origin: str, method: str = "POST") -> Any:
    return http.options(path, headers={"Origin": origin,
                                       "Access-Control-Request-Method": method,
                                       "Access-Control-Request-Headers": "authorization"})


def _no_cors(response: Any) -> bool:
    return not any(h in response.headers for h in CORS_HEADERS)


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/userinfo"])
def test_a_registered_origin_gets_its_preflight_answered(
        http: TestClient, spa: tuple[str, str], path: str) -> None:
    answer = _preflight(http, path, SPA)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SPA
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"]
    # Swagger UI's Authorize button sends it with its token request.
    assert "x-requested-with" in answer.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["vary"] == "Origin"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/userinfo"])
def test_an_unknown_origin_gets_no_cors_headers(http: TestClient, spa: tuple[str, str],
                                                path: str) -> None:
    answer = _preflight(http, path, STRANGER)
    assert answer.status_code == 204 and _no_cors(answer)
    assert _no_cors(_preflight(http, path, "null"))


def test_the_token_answer_is_shared_with_the_clients_own_origin_only(
        http: TestClient, spa: tuple[str, str]) -> None:
    form = {"grant_type": "client_credentials", "scope": "api"}
    own = http.post("/oauth/token", data=form, auth=spa, headers={"Origin": SPA})
    assert own.status_code == 200, own.text
    assert own.headers["access-control-allow-origin"] == SPA
    assert "access-control-allow-credentials" not in own.headers
    foreign = http.post("/oauth/token", data=form, auth=spa, headers={"Origin": OTHER_SPA})
    assert foreign.status_code == 200 and _no_cors(foreign)
    same_origin = http.post("/oauth/token", data=form, auth=spa)
    assert same_origin.status_code == 200 and _no_cors(same_origin)


def test_errors_are_readable_by_the_registered_origin(http: TestClient,
                                                      spa: tuple[str, str]) -> None:
    bad = http.post("/oauth/token", data={"grant_type": "nope"}, auth=spa,
                    headers={"Origin": SPA})
    assert bad.status_code == 400 and bad.json()["error"] == "unsupported_grant_type"
    assert bad.headers["access-control-allow-origin"] == SPA
    unknown = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": "nobody", "client_secret": "x"},
                        headers={"Origin": SPA})
    assert unknown.status_code == 401
    assert unknown.headers["access-control-allow-origin"] == SPA
    assert "www-authenticate" in unknown.headers["access-control-expose-headers"]


def test_a_loopback_redirect_uri_allows_its_host_on_any_port(http: TestClient,
                                                             state: ServerState) -> None:
    _register(state, "http://127.0.0.1/callback", grants=("authorization_code",))
    answer = _preflight(http, "/oauth/token", "http://127.0.0.1:5173")
    assert answer.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
    assert _no_cors(_preflight(http, "/oauth/token", "https://127.0.0.1:5173"))
    assert _no_cors(_preflight(http, "/oauth/token", "http://127.0.0.2:5173"))


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server",
                                  "/.well-known/openid-configuration", "/jwks.json"])
def test_public_documents_are_shared_with_any_origin(http: TestClient, path: str) -> None:
    answer = http.get(path, headers={"Origin": STRANGER})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    preflight = _preflight(http, path, STRANGER, method="GET")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert _no_cors(http.get(path))


@pytest.mark.parametrize(("path", "method"), [("/oauth/register", "POST"),
                                            ("/oauth/register/some-client", "PUT"),
                                            ("/oauth/register/some-client", "DELETE")])
def test_a_browser_app_may_register_itself_from_any_origin(http: TestClient, path: str,
                                                            method: str) -> None:
    """RFC 7591/7592 from a page: no origin is on record yet, and no cookie is involved."""
    preflight = _preflight(http, path, STRANGER, method=method)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert method in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    answer = http.post("/oauth/register", headers={"Origin": STRANGER}, json={
        "redirect_uris": ["https://spa.example/cb"], "token_endpoint_auth_method": "none"})
    assert answer.status_code == 201, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"


def test_metadata_still_advertises_every_endpoint(http: TestClient) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"] == "http://testserver/oauth/token"
    assert metadata["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert metadata["jwks_uri"] == "http://testserver/jwks.json"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/login"), ("GET", "/oauth/authorize"), ("GET", "/device"),
    ("GET", "/api/v1/keys"), ("GET", "/api/v1/scopes"), ("POST", "/oauth/introspect"),
])
def test_pages_and_the_management_api_stay_same_origin(
        http: TestClient, spa: tuple[str, str], method: str, path: str) -> None:
    answer = http.request(method, path, headers={"Origin": SPA}, follow_redirects=False)
    assert answer.status_code < 500 and _no_cors(answer)
    preflight = _preflight(http, path, SPA, method=method)
    assert preflight.status_code == 405 and _no_cors(preflight)
