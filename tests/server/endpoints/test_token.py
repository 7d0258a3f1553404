"""The token endpoint: client credentials end to end, and every refusal."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from scopegate.server.state import ServerState

ClientFactory = Callable[..., tuple[str, str]]
ISSUER = "http://testserver"

API = "https://api.scopegate.example"


def token(http: TestClient, client: tuple[str, str], **form: Any) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                     auth=client)


def decode(http: TestClient, access_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify with joserfc (independent of our signer) against the served JWKS."""
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    result = jwt.decode(access_token, keys, algorithms=["ES256"])
    return dict(result.header), dict(result.claims)


def test_default_scopes_give_an_rfc9068_token_for_the_api(
        http: TestClient, make_client: ClientFactory) -> None:
    client = make_client()
    r = token(http, client)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "api"
    header, claims = decode(http, body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert claims["aud"] == API
    assert claims["iss"] == ISSUER
    assert claims["sub"] == client[0] == claims["client_id"]
    assert claims["subject_type"] == "service"
    assert claims["exp"] - claims["iat"] == 3600
    assert len(claims["jti"]) >= 16


def test_client_secret_post_works(http: TestClient, make_client: ClientFactory) -> None:
    client_id, secret = make_client()
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "client_id": client_id, "client_secret": secret,
                                        "scope": "apps:read"})
    assert r.status_code == 200
    assert decode(http, r.json()["access_token"])[1]["scope"] == "apps:read"


def test_aliases_are_accepted_and_canonical_names_issued(
        http: TestClient, make_client: ClientFactory) -> None:
    client = make_client(scopes=("scopegate:application_connect", "openid"))
    r = token(http, client, scope="application_connect openid")
    assert r.status_code == 200
    claims = decode(http, r.json()["access_token"])[1]
    assert claims["scope"] == "openid scopegate:application_connect"


def test_scope_without_audience_gets_the_issuer_as_audience(
        http: TestClient, make_client: ClientFactory) -> None:
    client = make_client(scopes=("profile",), defaults=("profile",))
    claims = decode(http, token(http, client).json()["access_token"])[1]
    assert claims["aud"] == ISSUER


def test_openid_alone_is_for_userinfo(http: TestClient, make_client: ClientFactory) -> None:
    client = make_client(scopes=("openid",), defaults=("openid",))
    claims = decode(http, token(http, client).json()["access_token"])[1]
    assert claims["aud"] == ISSUER + "/userinfo"


@pytest.mark.parametrize("scope", ["apps:write", "nope", "api bad\"token"])
def test_scope_not_allowed_or_unknown_is_refused_never_dropped(
        http: TestClient, make_client: ClientFactory, scope: str) -> None:
    r = token(http, make_client(), scope=f"api {scope}")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


def test_resource_selects_the_audience(http: TestClient, make_client: ClientFactory) -> None:
    client = make_client(scopes=("api", "openid"), defaults=("openid",))
    r = token(http, client, scope="openid", resource=API)
    assert r.status_code == 200
    assert decode(http, r.json()["access_token"])[1]["aud"] == [API, ISSUER + "/userinfo"]


@pytest.mark.parametrize("resource", ["https://other.example", "not a uri", API + "#frag"])
def test_resource_the_client_may_not_use_is_invalid_target(
        http: TestClient, make_client: ClientFactory, resource: str) -> None:
    r = token(http, make_client(), resource=resource)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_target"


def test_resource_from_scope_the_client_lacks_is_invalid_target(
        http: TestClient, make_client: ClientFactory) -> None:
    client = make_client(scopes=("openid",), defaults=("openid",))
    r = token(http, client, resource=API)
    assert r.json()["error"] == "invalid_target"


def test_wrong_secret_is_401_with_a_challenge(http: TestClient,
                                              make_client: ClientFactory) -> None:
    client_id, _ = make_client()
    for auth in [(client_id, "wrong"), ("unknown-client", "x")]:
        r = token(http, auth)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_client"
        assert r.headers["www-authenticate"].startswith("Basic")


def test_no_credentials_is_invalid_client(http: TestClient) -> None:
    r = http.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_two_auth_methods_at_once_are_refused(http: TestClient,
                                              make_client: ClientFactory) -> None:
    client_id, secret = make_client()
    r = http.post("/oauth/token", auth=(client_id, secret), data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_malformed_basic_header_is_invalid_client(http: TestClient) -> None:
    for header in ["Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(), "Bearer x"]:
        r = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      headers={"Authorization": header})
        assert r.status_code == 401, header


def test_wrong_content_type_is_invalid_request(http: TestClient,
                                               make_client: ClientFactory) -> None:
    r = http.post("/oauth/token", json={"grant_type": "client_credentials"},
                  auth=make_client())
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in r.json()["error_description"]


def test_oversized_body_is_413(http: TestClient, make_client: ClientFactory) -> None:
    r = token(http, make_client(), scope="a" * 20000)
    assert r.status_code == 413
    assert r.json()["error"] == "invalid_request"


def test_duplicate_parameters_are_refused(http: TestClient, make_client: ClientFactory) -> None:
    r = http.post("/oauth/token", auth=make_client(),
                  content=b"grant_type=client_credentials&scope=api&scope=api",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "repeated" in r.json()["error_description"]


def test_unknown_and_unpermitted_grant_types(http: TestClient,
                                             make_client: ClientFactory) -> None:
    client = make_client()
    r = http.post("/oauth/token", data={"grant_type": "password"}, auth=client)
    assert r.json()["error"] == "unsupported_grant_type"
    other = make_client(grants=("authorization_code",))
    r = token(http, other)
    assert r.json()["error"] == "unauthorized_client"


def test_urn_form_of_the_grant_type_is_accepted(http: TestClient,
                                                make_client: ClientFactory) -> None:
    r = http.post("/oauth/token", auth=make_client(), data={
        "grant_type": "urn:ietf:params:oauth:grant-type:client_credentials"})
    assert r.status_code == 200


def test_public_client_cannot_use_client_credentials(http: TestClient,
                                                     make_client: ClientFactory) -> None:
    client_id, _ = make_client(public=True)
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "client_id": client_id})
    assert r.status_code in (400, 401)
    assert r.json()["error"] in ("unauthorized_client", "invalid_client")


def test_client_credentials_never_writes_to_the_database(
        http: TestClient, make_client: ClientFactory, state: ServerState) -> None:
    client = make_client()
    token(http, client)  # warm the client cache
    writes: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    sa.event.listen(state.db.engine, "before_cursor_execute", record)
    try:
        for _ in range(5):
            assert token(http, client).status_code == 200
    finally:
        sa.event.remove(state.db.engine, "before_cursor_execute", record)
    assert writes == []


_form_keys = st.sampled_from(["grant_type", "scope", "resource", "client_id",
                              "client_secret", "code", "x"])
_values = st.one_of(st.sampled_from(["client_credentials", "api", "openid apps:read",
                                     API, "", "urn:ietf:params:oauth:grant-type:x"]),
                    st.text(max_size=60))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.lists(st.tuples(_form_keys, _values), max_size=6),
       use_auth=st.booleans())
def test_fuzzed_forms_never_cause_a_server_error(
        http: TestClient, make_client: ClientFactory, form: list[tuple[str, str]],
        use_auth: bool) -> None:
    client = make_client() if use_auth else None
    r = http.post("/oauth/token", data=form, auth=client)  # type: ignore[arg-type]
    assert r.status_code < 500, r.text
    if r.status_code != 200:
        assert "error" in r.json()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "application/x-www-form-urlencoded; charset=latin-1",
                                     "text/plain", "multipart/form-data", ""]),
       auth=st.one_of(st.none(), st.text(max_size=40)))
def test_fuzzed_raw_bodies_never_cause_a_server_error(
        http: TestClient, body: bytes, content_type: str, auth: str | None) -> None:
    headers = {"Content-Type": content_type}
    if auth is not None:
        headers["Authorization"] = "Basic " + auth
    try:
        r = http.post("/oauth/token", content=body, headers=headers)
    except UnicodeEncodeError:
        return  # httpx refuses non-ASCII header values before sending
    assert r.status_code < 500, r.text
    assert "error" in r.json()
