"""DPoP at the token endpoint (RFC 9449 §5, §6, §8): bound tokens, bound refresh tokens,
nonces, clients that must use DPoP, and every bad proof (refused, nothing issued)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dpop_proofs import new_key, proof, thumbprint, unsigned
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.state import ServerState

from ..grants.flow import exchange, get_code, log_in_new_member, make_client, open_browser

ClientFactory = Callable[..., tuple[str, str]]
TOKEN_URL = "http://testserver/oauth/token"


def claims_of(http: TestClient, access_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    return dict(jwt.decode(access_token, keys, algorithms=["ES256"]).claims)


def cc(http: TestClient, client: tuple[str, str], *dpop: str) -> Any:
    headers = [("DPoP", value) for value in dpop]
    return http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client,
                     headers=headers)


def test_a_proof_gets_a_dpop_token_bound_to_its_key(http: TestClient,
                                                   make_client: ClientFactory) -> None:
    client, key = make_client(), new_key()
    r = cc(http, client, proof(key, "POST", TOKEN_URL))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(http, body["access_token"])["cnf"] == {"jkt": thumbprint(key)}
    plain = cc(http, client).json()
    assert plain["token_type"] == "Bearer" and "cnf" not in claims_of(http, plain["access_token"])


def test_introspection_answers_cnf_for_a_bound_token(http: TestClient,
                                                    make_client: ClientFactory) -> None:
    client, key = make_client(), new_key()
    token = cc(http, client, proof(key, "POST", TOKEN_URL)).json()["access_token"]
    answer = http.post("/oauth/introspect", data={"token": token}, auth=client).json()
    assert answer["active"] is True and answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": thumbprint(key)}


def test_metadata_lists_the_proof_algorithms(http: TestClient) -> None:
    doc = http.get("/.well-known/oauth-authorization-server").json()
    assert doc["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA", "RS256", "PS256"]


@pytest.mark.parametrize("case", ["method", "url", "replayed", "two headers", "oversized",
                                  "private key", "alg none"])
def test_a_bad_proof_is_invalid_dpop_proof_and_issues_nothing(
        http: TestClient, make_client: ClientFactory, case: str) -> None:
    client, key = make_client(), new_key()
    good = proof(key, "POST", TOKEN_URL)
    sent: tuple[str, ...] = {
        "method": (proof(key, "GET", TOKEN_URL),),
        "url": (proof(key, "POST", "http://testserver/oauth/other"),),
        "replayed": (good,),
        "two headers": (good, proof(key, "POST", TOKEN_URL)),
        "oversized": ("a" * 5000,),
        "private key": (proof(key, "POST", TOKEN_URL, jwk=key.as_dict(private=True)),),
        "alg none": (unsigned({"alg": "none", "typ": "dpop+jwt",
                               "jwk": key.as_dict(private=False)},
                              {"jti": "n", "htm": "POST", "htu": TOKEN_URL,
                               "iat": int(time.time())}),),
    }[case]
    if case == "replayed":
        assert cc(http, client, good).status_code == 200
    r = cc(http, client, *sent)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_dpop_proof"
    assert r.json()["error_description"]
    assert "access_token" not in r.json()


def test_a_client_registered_for_dpop_must_send_a_proof(http: TestClient) -> None:
    r = http.post("/oauth/register", json={
        "redirect_uris": ["http://127.0.0.1/cb"], "dpop_bound_access_tokens": True,
        "grant_types": ["authorization_code", "refresh_token"]})
    assert r.status_code == 201, r.text
    assert r.json()["dpop_bound_access_tokens"] is True
    refused = http.post("/oauth/token", data={"grant_type": "refresh_token",
                                              "refresh_token": "sgr_x",
                                              "client_id": r.json()["client_id"]})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    assert "dpop_bound_access_tokens" in refused.json()["error_description"]
    bad = http.post("/oauth/register", json={"redirect_uris": ["http://127.0.0.1/cb"],
                                             "dpop_bound_access_tokens": "yes"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client_metadata"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


def test_a_public_clients_refresh_token_is_bound_to_its_key(browser: TestClient,
                                                           state: ServerState) -> None:
    log_in_new_member(browser, state)
    client_id, _ = make_client(state)
    key = new_key()
    code, verifier, _ = get_code(browser, client_id)
    data = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "redirect_uri": "http://127.0.0.1:5555/callback", "code_verifier": verifier}
    r = browser.post("/oauth/token", data=data,
                     headers={"DPoP": proof(key, "POST", TOKEN_URL)})
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP"
    refresh_token = r.json()["refresh_token"]

    def refresh(*dpop: str) -> Any:
        return browser.post("/oauth/token", headers=[("DPoP", v) for v in dpop],
                            data={"grant_type": "refresh_token", "client_id": client_id,
                                  "refresh_token": refresh_token})

    without = refresh()
    assert without.status_code == 400 and without.json()["error"] == "invalid_dpop_proof"
    other = refresh(proof(new_key(), "POST", TOKEN_URL))
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
    assert "another DPoP key" in other.json()["error_description"]
    ok = refresh(proof(key, "POST", TOKEN_URL))
    assert ok.status_code == 200, ok.text
    assert claims_of(browser, ok.json()["access_token"])["cnf"]["jkt"] == thumbprint(key)


def test_a_confidential_clients_code_tokens_are_bound_but_not_its_refresh_token(
        browser: TestClient, state: ServerState) -> None:
    log_in_new_member(browser, state)
    client_id, secret = make_client(state, public=False)
    key = new_key()
    code, verifier, _ = get_code(browser, client_id)
    first = exchange(browser, client_id, code, verifier, secret=secret)
    assert first.status_code == 200 and first.json()["token_type"] == "Bearer"
    again = browser.post("/oauth/token", auth=(client_id, secret),
                         headers={"DPoP": proof(key, "POST", TOKEN_URL)},
                         data={"grant_type": "refresh_token",
                               "refresh_token": first.json()["refresh_token"]})
    assert again.status_code == 200 and again.json()["token_type"] == "DPoP"


@pytest.fixture(scope="module")
def nonce_http(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.replace(dpop_nonce=True)),
                    raise_server_exceptions=False) as client:
        yield client


def test_with_nonces_on_a_proof_needs_the_servers_nonce(nonce_http: TestClient,
                                                       make_client: ClientFactory) -> None:
    client, key = make_client(), new_key()
    asked = cc(nonce_http, client, proof(key, "POST", TOKEN_URL))
    assert asked.status_code == 400 and asked.json()["error"] == "use_dpop_nonce"
    nonce = asked.headers["dpop-nonce"]
    stale = cc(nonce_http, client, proof(key, "POST", TOKEN_URL, nonce="x" * 24))
    assert stale.json()["error"] == "use_dpop_nonce"
    ok = cc(nonce_http, client, proof(key, "POST", TOKEN_URL, nonce=nonce))
    assert ok.status_code == 200 and ok.json()["token_type"] == "DPoP"
    assert ok.headers["dpop-nonce"] == nonce
    assert cc(nonce_http, client).json()["token_type"] == "Bearer"  # DPoP stays optional
