"""The authorization-code and refresh-token grants: every refusal, replay and reuse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.oidc.id_token import at_hash
from scopegate.server.state import ServerState
from scopegate.store.models import AuthorizationCode, RefreshToken

from .flow import (
    exchange,
    get_code,
    log_in_new_member,
    make_client,
    open_browser,
    refresh,
)

ISSUER = "http://testserver"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def _claims(http: TestClient, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    return dict(jwt.decode(token, keys).claims)


def _userinfo(http: TestClient, access_token: str) -> Any:
    return http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def _tokens(logged_in: TestClient, state: ServerState, **extra: str
            ) -> tuple[str, dict[str, Any]]:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id, **extra)
    response = exchange(logged_in, client_id, code, verifier)
    assert response.status_code == 200, response.text
    return client_id, response.json()


def test_code_exchange_returns_verified_id_token(logged_in: TestClient,
                                                 state: ServerState) -> None:
    client_id, body = _tokens(logged_in, state, scope="openid profile api")
    assert body["token_type"] == "Bearer" and body["refresh_token"].startswith("sgr_")
    id_claims = _claims(logged_in, body["id_token"])
    assert id_claims["aud"] == client_id and id_claims["iss"] == ISSUER
    assert id_claims["nonce"] == "n-1"
    assert id_claims["at_hash"] == at_hash(body["access_token"], "RS256")
    assert isinstance(id_claims["auth_time"], int)
    access = _claims(logged_in, body["access_token"])
    assert access["sub"] == id_claims["sub"] and access["subject_type"] == "user"
    assert access["aud"] == ["https://api.scopegate.example", ISSUER + "/userinfo"]


def test_no_id_token_without_openid_and_no_refresh_without_the_grant(
        logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state, grants=("authorization_code",))
    code, verifier, _ = get_code(logged_in, client_id, scope="api")
    body = exchange(logged_in, client_id, code, verifier).json()
    assert "id_token" not in body and "refresh_token" not in body


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"code": ""}, 400, "invalid_request"),
    ({"code": "never-issued"}, 400, "invalid_grant"),
    ({"code_verifier": ""}, 400, "invalid_request"),
    ({"code_verifier": "x" * 43}, 400, "invalid_grant"),
    ({"redirect_uri": "http://127.0.0.1:5556/callback"}, 400, "invalid_grant"),
])
def test_code_refusals(logged_in: TestClient, state: ServerState, change: dict[str, str],
                       status: int, error: str) -> None:
    client_id, _ = make_client(state)
    code, verifier, params = get_code(logged_in, client_id)
    args = {"code": code, "verifier": verifier, "redirect_uri": params["redirect_uri"]}
    args.update({("verifier" if k == "code_verifier" else k): v for k, v in change.items()})
    response = exchange(logged_in, client_id, args["code"], args["verifier"],
                        redirect_uri=args["redirect_uri"])
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


def test_code_of_another_client_and_expired_code(logged_in: TestClient,
                                                 state: ServerState) -> None:
    client_id, _ = make_client(state)
    other, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id)
    assert exchange(logged_in, other, code, verifier).json()["error"] == "invalid_grant"
    code, verifier, _ = get_code(logged_in, client_id)
    with state.db.session() as session:
        session.execute(sa.update(AuthorizationCode)
                        .values(expires_at=AuthorizationCode.created_at)
                        .where(AuthorizationCode.used_at.is_(None)))
    response = exchange(logged_in, client_id, code, verifier)
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "authorization code expired"}


def test_client_not_registered_for_the_grant_is_unauthorized(logged_in: TestClient,
                                                             state: ServerState) -> None:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id)
    other, _ = make_client(state, grants=("refresh_token",))
    assert exchange(logged_in, other, code, verifier).json()["error"] == "unauthorized_client"


def test_replayed_code_revokes_every_token_issued_from_it(logged_in: TestClient,
                                                          state: ServerState) -> None:
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(logged_in, client_id)
    first = exchange(logged_in, client_id, code, verifier).json()
    assert _userinfo(logged_in, first["access_token"]).status_code == 200
    rotated = refresh(logged_in, client_id, first["refresh_token"]).json()
    replay = exchange(logged_in, client_id, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    for access in (first["access_token"], rotated["access_token"]):
        denied = _userinfo(logged_in, access)
        assert denied.status_code == 401 and denied.json()["error"] == "invalid_token"
    dead = refresh(logged_in, client_id, rotated["refresh_token"])
    assert dead.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_narrows_but_never_widens(logged_in: TestClient,
                                                      state: ServerState) -> None:
    client_id, body = _tokens(logged_in, state, scope="openid api apps:read")
    narrowed = refresh(logged_in, client_id, body["refresh_token"], scope="apps:read")
    assert narrowed.status_code == 200, narrowed.text
    small = narrowed.json()
    assert small["scope"] == "apps:read" and "id_token" not in small
    assert small["refresh_token"] != body["refresh_token"]
    assert _claims(logged_in, small["access_token"])["scope"] == "apps:read"
    wider = refresh(logged_in, client_id, small["refresh_token"], scope="apps:read apps:run")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    # The family keeps its original grant: the next refresh may ask for all of it again.
    full = refresh(logged_in, client_id, small["refresh_token"]).json()
    assert full["scope"] == "api apps:read openid"


def test_reused_refresh_token_revokes_the_family(logged_in: TestClient,
                                                 state: ServerState) -> None:
    client_id, body = _tokens(logged_in, state)
    second = refresh(logged_in, client_id, body["refresh_token"]).json()
    reuse = refresh(logged_in, client_id, body["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert refresh(logged_in, client_id, second["refresh_token"]).json()["error"] == \
        "invalid_grant"
    for access in (body["access_token"], second["access_token"]):
        assert _userinfo(logged_in, access).json()["error"] == "invalid_token"
    with state.db.session() as session:
        rows = session.scalars(sa.select(RefreshToken).where(
            RefreshToken.client_id == client_id)).all()
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)


@pytest.mark.parametrize(("form", "error"), [
    ({"refresh_token": ""}, "invalid_request"),
    ({"refresh_token": "sgr_never-issued"}, "invalid_grant"),
    ({"scope": "no-such-scope"}, "invalid_scope"),
    ({"scope": "keys:read"}, "invalid_scope"),
])
def test_refresh_refusals(logged_in: TestClient, state: ServerState, form: dict[str, str],
                          error: str) -> None:
    client_id, body = _tokens(logged_in, state)
    args = {"refresh_token": body["refresh_token"], **form}
    token = args.pop("refresh_token")
    response = refresh(logged_in, client_id, token, **args)
    assert response.status_code == 400 and response.json()["error"] == error


def test_refresh_token_of_another_client_or_expired(logged_in: TestClient,
                                                    state: ServerState) -> None:
    client_id, body = _tokens(logged_in, state)
    other, _ = make_client(state)
    assert refresh(logged_in, other, body["refresh_token"]).json()["error"] == "invalid_grant"
    with state.db.session() as session:
        session.execute(sa.update(RefreshToken).where(RefreshToken.client_id == client_id)
                        .values(expires_at=RefreshToken.created_at))
    expired = refresh(logged_in, client_id, body["refresh_token"]).json()
    assert expired == {"error": "invalid_grant", "error_description": "refresh token expired"}


def test_refresh_token_is_introspectable_and_revocable(logged_in: TestClient,
                                                       state: ServerState) -> None:
    client_id, secret = make_client(state, public=False)
    code, verifier, _ = get_code(logged_in, client_id)
    body = exchange(logged_in, client_id, code, verifier, secret=secret).json()
    seen = logged_in.post("/oauth/introspect", data={"token": body["refresh_token"]},
                          auth=(client_id, secret)).json()
    assert seen["active"] is True and seen["token_type"] == "N_A"
    revoked = logged_in.post("/oauth/revoke", data={"token": body["refresh_token"]},
                             auth=(client_id, secret))
    assert revoked.status_code == 200
    assert logged_in.post("/oauth/introspect", data={"token": body["refresh_token"]},
                          auth=(client_id, secret)).json() == {"active": False}
    assert _userinfo(logged_in, body["access_token"]).status_code == 401


def test_public_client_revokes_its_own_tokens_with_none(logged_in: TestClient,
                                                        state: ServerState) -> None:
    """A CLI (public client, no secret) signs out: metadata says ``none`` works, and it does."""
    meta = logged_in.get("/.well-known/oauth-authorization-server").json()
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert "none" in meta["revocation_endpoint_auth_methods_supported"]
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]
    client_id, body = _tokens(logged_in, state, scope="openid offline_access")
    for token in (body["access_token"], body["refresh_token"]):
        revoked = logged_in.post("/oauth/revoke", data={"token": token, "client_id": client_id})
        assert revoked.status_code == 200, revoked.text
    assert _userinfo(logged_in, body["access_token"]).status_code == 401
    assert refresh(logged_in, client_id, body["refresh_token"]).json()["error"] == "invalid_grant"
    other, _ = make_client(state)  # another public client cannot revoke them
    _, second = _tokens(logged_in, state, scope="openid offline_access")
    refused = logged_in.post("/oauth/revoke", data={"token": second["access_token"],
                                                    "client_id": other})
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
