"""Introspection (RFC 7662) and revocation (RFC 7009) of our JWT access tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

ClientFactory = Callable[..., tuple[str, str]]


def issue(http: TestClient, client: tuple[str, str]) -> str:
    r = http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
    assert r.status_code == 200
    return str(r.json()["access_token"])


def introspect(http: TestClient, client: tuple[str, str] | None, tok: str) -> Any:
    return http.post("/oauth/introspect", data={"token": tok}, auth=client)


def test_active_token_introspects_with_its_claims(http: TestClient,
                                                  make_client: ClientFactory) -> None:
    client = make_client()
    resource_server = make_client(resource_servers=("https://api.scopegate.example",))
    r = introspect(http, resource_server, issue(http, client))
    assert r.status_code == 200
    body = r.json()
    assert body["active"] is True
    assert body["client_id"] == client[0]
    assert body["scope"] == "api"
    assert body["aud"] == "https://api.scopegate.example"
    assert body["subject_type"] == "service"


def test_introspection_needs_client_authentication(http: TestClient,
                                                   make_client: ClientFactory) -> None:
    tok = issue(http, make_client())
    r = introspect(http, None, tok)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = introspect(http, ("x", "y"), tok)
    assert r.status_code == 401


def test_garbage_and_foreign_tokens_are_inactive(http: TestClient,
                                                 make_client: ClientFactory) -> None:
    client = make_client()
    for tok in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x" * 9000]:
        assert introspect(http, client, tok).json() == {"active": False}


def test_missing_token_parameter_is_invalid_request(http: TestClient,
                                                    make_client: ClientFactory) -> None:
    r = http.post("/oauth/introspect", data={}, auth=make_client())
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_revoked_token_introspects_inactive(http: TestClient,
                                            make_client: ClientFactory) -> None:
    client = make_client()
    tok = issue(http, client)
    r = http.post("/oauth/revoke", data={"token": tok}, auth=client)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert introspect(http, client, tok).json() == {"active": False}
    # Revoking again is harmless.
    assert http.post("/oauth/revoke", data={"token": tok}, auth=client).status_code == 200


def test_revocation_is_seen_by_a_fresh_process_state(http: TestClient,
                                                     make_client: ClientFactory,
                                                     state: Any) -> None:
    client = make_client()
    tok = issue(http, client)
    http.post("/oauth/revoke", data={"token": tok, "token_type_hint": "access_token"},
              auth=client)
    jti = state.signing_keys.verifier.verify(tok)["jti"]
    state.denylist._revoked.clear()  # as another replica would be: only the store knows
    assert introspect(http, client, tok).json() == {"active": False}
    assert jti in state.denylist._revoked


def test_a_client_cannot_revoke_another_clients_token(http: TestClient,
                                                      make_client: ClientFactory) -> None:
    owner, other = make_client(), make_client()
    tok = issue(http, owner)
    r = http.post("/oauth/revoke", data={"token": tok}, auth=other)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    assert introspect(http, owner, tok).json()["active"] is True


def test_revoking_an_invalid_token_answers_200(http: TestClient,
                                               make_client: ClientFactory) -> None:
    r = http.post("/oauth/revoke", data={"token": "not-a-token"}, auth=make_client())
    assert r.status_code == 200


def test_revocation_needs_client_authentication(http: TestClient,
                                                make_client: ClientFactory) -> None:
    tok = issue(http, make_client())
    assert http.post("/oauth/revoke", data={"token": tok}).status_code == 401


def test_expired_revocations_are_pruned(state: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from scopegate.store.repositories import RevocationRepository

    RevocationRepository(state.db).revoke("old-jti", datetime.now(UTC) - timedelta(seconds=1))
    state.denylist._revoked["old-jti"] = 0.0
    assert state.denylist.prune() >= 1
    assert "old-jti" not in state.denylist._revoked
    assert not RevocationRepository(state.db).is_revoked("old-jti")
