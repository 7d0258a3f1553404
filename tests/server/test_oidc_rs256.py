"""OpenID Connect strictness: RS256 ID tokens from their own key, access tokens stay ES256.

A strict certified relying-party library accepts the discovery document unchanged, and
verifies the ID token from JWKS; the RSA key never makes an access token acceptable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import orjson
import pytest
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.app import create_app
from scopegate.server.oidc.id_token import at_hash
from scopegate.server.signing.signing_keys import (
    SigningKeys,
    ensure_signing_key,
    rotate_signing_key,
)
from scopegate.server.state import ServerState
from scopegate.store import Database
from scopegate.store.repositories import SigningKeyRepository
from scopegate.store.sealing import KekRing, generate_kek
from scopegate.tokens import (
    JwsSigner,
    SigningKeyPair,
    TokenVerificationError,
    TokenVerifier,
    access_token_claims,
    generate_key,
)

from .conftest import settings_for
from .grants.flow import exchange, get_code, log_in_new_member, make_client, open_browser

ISSUER = "http://testserver"


@pytest.fixture
def logged_in(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    for browser in open_browser(app, state):
        yield log_in_new_member(browser, state)


def _code_tokens(http: TestClient, state: ServerState, scope: str = "openid email api"
                 ) -> tuple[str, dict[str, Any]]:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(http, client_id, scope=scope)
    response = exchange(http, client_id, code, verifier)
    assert response.status_code == 200, response.text
    return client_id, response.json()


def _header(token: str) -> dict[str, Any]:
    return dict(pyjwt.get_unverified_header(token))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _rsa_key(state: ServerState) -> SigningKeyPair:
    """The server's active RS256 key, read from the store as the server does."""
    repo = state.signing_keys.repo
    record = next(r for r in repo.published() if r.active and r.alg == "RS256")
    return SigningKeyPair.from_pem(repo.private_pem(record), record.alg, record.kid)


def test_https_discovery_validates_with_authlib(database_url: str) -> None:
    settings = settings_for(database_url, issuer="https://id.example")
    with TestClient(create_app(settings), base_url="https://id.example") as http:
        oidc = http.get("/.well-known/openid-configuration").json()
        oauth = http.get("/.well-known/oauth-authorization-server").json()
    OpenIDProviderMetadata(oidc).validate()  # raises on the first check that fails
    AuthorizationServerMetadata(oauth).validate()
    assert oidc["id_token_signing_alg_values_supported"][0] == "RS256"
    assert set(oidc["id_token_signing_alg_values_supported"]) <= {"RS256", "ES256"}


def test_jwks_publishes_an_rsa_key_for_id_tokens_beside_the_access_key(
        http: TestClient) -> None:
    keys = http.get("/jwks.json").json()["keys"]
    by_alg = {k["alg"]: k for k in keys}
    assert set(by_alg) == {"RS256", "ES256"}
    rsa = by_alg["RS256"]
    assert rsa["kty"] == "RSA" and rsa["use"] == "sig" and rsa["kid"] != by_alg["ES256"]["kid"]
    modulus = base64.urlsafe_b64decode(rsa["n"] + "==")
    assert len(modulus) * 8 >= 2048
    private_members = {"d", "p", "q", "dp", "dq", "qi"}
    assert all(not private_members & set(k) for k in keys)


def test_id_token_is_rs256_and_verifies_with_joserfc_and_authlib(
        logged_in: TestClient, state: ServerState) -> None:
    client_id, body = _code_tokens(logged_in, state)
    jwks = logged_in.get("/jwks.json").json()
    rsa_kid = next(k["kid"] for k in jwks["keys"] if k["alg"] == "RS256")
    assert _header(body["id_token"]) == {"alg": "RS256", "kid": rsa_kid, "typ": "JWT"}
    assert _header(body["access_token"])["alg"] == "ES256"

    verified = jose_jwt.decode(body["id_token"], KeySet.import_key_set(jwks),
                               algorithms=["RS256"])
    assert verified.claims["aud"] == client_id and verified.claims["nonce"] == "n-1"
    assert verified.claims["at_hash"] == at_hash(body["access_token"], "RS256")

    claims = authlib_jwt.decode(
        body["id_token"], JsonWebKey.import_key_set(jwks), claims_cls=CodeIDToken,
        claims_options={"iss": {"value": ISSUER}, "aud": {"value": client_id}},
        claims_params={"nonce": "n-1", "access_token": body["access_token"],
                       "client_id": client_id})
    claims.validate()  # iss, aud, exp, iat, nonce, at_hash (SHA-256 for RS256), auth_time
    assert claims.header["alg"] == "RS256"


def _forgeries(state: ServerState) -> dict[str, str]:
    """Access tokens an attacker could build from what JWKS publishes (or our RSA key)."""
    rsa = _rsa_key(state)
    access_kid = state.signing_keys.signer.kid
    claims = access_token_claims(issuer=ISSUER, subject="usr_x", subject_type="user",
                                 client_id="c",
                                 audience=(ISSUER + "/api/v1/", ISSUER + "/userinfo"),
                                 scopes=["openid", "keys:write", "keys:read"], ttl=300)
    payload = _b64(orjson.dumps(claims))

    def hs256(kid: str) -> str:
        head = _b64(orjson.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}))
        signing_input = f"{head}.{payload}".encode()
        sig = hmac.new(rsa.public_pem(), signing_input, hashlib.sha256).digest()
        return f"{head}.{payload}.{_b64(sig)}"

    none_head = _b64(orjson.dumps({"alg": "none", "kid": access_kid, "typ": "at+jwt"}))
    rs256_under_es_kid = SigningKeyPair(kid=access_kid, alg="RS256",
                                        private_key=rsa.private_key)
    return {
        "rs256 with the ID-token key": JwsSigner(rsa).sign(claims, typ="at+jwt"),
        "rs256 under the access kid": JwsSigner(rs256_under_es_kid).sign(claims,
                                                                        typ="at+jwt"),
        "hs256 keyed with the RSA public key": hs256(rsa.kid),
        "hs256 under the access kid": hs256(access_kid),
        "alg none": f"{none_head}.{payload}.",
    }


def test_access_tokens_refuse_rs256_hs256_and_none(http: TestClient, state: ServerState,
                                                   make_client: Any) -> None:
    client = make_client()
    for name, token in _forgeries(state).items():
        with pytest.raises(TokenVerificationError):
            state.signing_keys.verifier.verify(token)
        introspected = http.post("/oauth/introspect", data={"token": token}, auth=client)
        assert introspected.json() == {"active": False}, name
        for method, path in (("GET", "/userinfo"), ("GET", "/api/v1/keys")):
            answer = http.request(method, path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (name, path)
            assert answer.json()["error"] == "invalid_token", (name, path)


def test_an_id_token_is_not_an_access_token(logged_in: TestClient,
                                            state: ServerState) -> None:
    _, body = _code_tokens(logged_in, state, scope="openid profile")
    refused = logged_in.get("/userinfo",
                            headers={"Authorization": f"Bearer {body['id_token']}"})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


def test_the_access_token_verifier_will_not_load_an_rsa_key() -> None:
    with pytest.raises(ValueError, match="ID tokens only"):
        TokenVerifier([generate_key("RS256")], ISSUER)


def test_rotation_replaces_the_id_token_key_and_keeps_the_old_one_published(
        logged_in: TestClient, state: ServerState) -> None:
    _, before = _code_tokens(logged_in, state)
    old_kid = _header(before["id_token"])["kid"]
    repo = state.signing_keys.repo
    access_kid = rotate_signing_key(repo, "ES256", timedelta(hours=1))
    state.signing_keys.reload()  # what the server's periodic reload does
    _, after = _code_tokens(logged_in, state)
    new_kid = _header(after["id_token"])["kid"]
    assert new_kid != old_kid and _header(after["access_token"])["kid"] == access_kid
    jwks = logged_in.get("/jwks.json").json()
    assert {old_kid, new_kid, access_kid} <= {k["kid"] for k in jwks["keys"]}
    for token in (before["id_token"], after["id_token"]):  # both verify from JWKS
        jose_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])


def test_first_start_on_an_older_database_adds_only_the_missing_rsa_key(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade()
    repo = SigningKeyRepository(db, KekRing.parse(generate_kek(), "test"))
    es = generate_key("ES256")
    repo.add(es.kid, es.alg, es.private_pem())  # what a server before RS256 stored
    ensure_signing_key(repo, "ES256")
    ensure_signing_key(repo, "ES256")  # idempotent on the next start
    active = [(r.alg, r.kid) for r in repo.published() if r.active]
    assert sorted(alg for alg, _ in active) == ["ES256", "RS256"]
    ring = SigningKeys(repo, ISSUER)
    assert ring.signer.kid == es.kid and ring.id_token_signer.alg == "RS256"
    token = ring.signer.sign(access_token_claims(
        issuer=ISSUER, subject="s", subject_type="service", client_id="c",
        audience=("https://api",), scopes=["api"], ttl=60, now=int(time.time())),
        typ="at+jwt")
    assert ring.verifier.verify(token)["sub"] == "s"
    db.dispose()

