"""/api/v1/keys end to end: several scopes, legacy scope, refusals, introspection, rotation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from scopegate.server.management.api_keys import repository
from scopegate.server.state import ServerState
from scopegate.store.models.api_keys import ApiKey
from scopegate.store.models.users import Membership, User, Workspace
from scopegate.tokens import access_token_claims

ISSUER = "http://testserver"  # tests/server/conftest.py serves the app under this issuer
KEYS = "/api/v1/keys"
MANAGEMENT = ISSUER + "/api/v1/"  # the management API's resource identifier


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(state: ServerState) -> Iterator[Clock]:
    repo = repository(state)
    original = repo.clock
    fake = Clock()
    repo.clock = fake
    yield fake
    repo.clock = original


def make_user(state: ServerState, role: str) -> str:
    user_id = f"usr_{uuid.uuid4().hex[:12]}"
    with state.db.session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", password_hash="x",
                         role=role))
    return user_id


def bearer(state: ServerState, user_id: str,
           scope: str = "keys:write keys:read scopegate:all",
           subject_type: str = "user") -> dict[str, str]:
    claims = access_token_claims(issuer=ISSUER, subject=user_id,
                                 subject_type=subject_type,  # type: ignore[arg-type]
                                 client_id="cli", audience=(MANAGEMENT,), scopes=scope.split(),
                                 ttl=300)
    return {"Authorization": "Bearer " + state.signing_keys.signer.sign(claims, typ="at+jwt")}


@pytest.fixture
def admin(state: ServerState) -> tuple[str, dict[str, str]]:
    user_id = make_user(state, "admin")
    return user_id, bearer(state, user_id)


@pytest.fixture
def member(state: ServerState) -> tuple[str, dict[str, str]]:
    user_id = make_user(state, "member")
    return user_id, bearer(state, user_id)


@pytest.fixture
def introspector(make_client: Any) -> tuple[str, str]:
    """A resource server of the example API: the keys' scopes are for it."""
    return make_client(resource_servers=("https://api.scopegate.example",))


def stored_scopes(state: ServerState, key_id: str) -> Any:
    with state.db.session() as session:
        return session.scalar(sa.select(ApiKey.scopes).where(ApiKey.id == key_id))


def key_count(state: ServerState, user_id: str) -> int:
    with state.db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(ApiKey)
                                  .where(ApiKey.user_id == user_id)) or 0)


def introspect(http: TestClient, client: tuple[str, str], token: str) -> dict[str, Any]:
    r = http.post("/oauth/introspect", data={"token": token}, auth=client)
    assert r.status_code == 200
    return dict(r.json())


# -- creation ----------------------------------------------------------------------------

def test_create_with_several_scopes(http: TestClient, state: ServerState,
                                    member: tuple[str, dict[str, str]]) -> None:
    _, headers = member
    r = http.post(KEYS, json={"name": "ci", "scopes": ["apps:read", "application_connect"]},
                  headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["key"].startswith(f"sg_{body['id']}") and body["name"] == "ci"
    assert body["scopes"] == ["apps:read", "scopegate:application_connect"]
    assert body["scope"] == "application_connect apps:read"  # legacy names for old clients
    assert body["status"] == "active" and body["expires_at"]
    assert stored_scopes(state, body["id"]) == ["apps:read", "scopegate:application_connect"]


def test_create_with_the_legacy_singular_scope(http: TestClient, state: ServerState,
                                               admin: tuple[str, dict[str, str]]) -> None:
    r = http.post(KEYS, json={"scope": "all", "expires_in": "30d"}, headers=admin[1])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["scopes"] == ["scopegate:all"] and body["scope"] == "all"
    assert stored_scopes(state, body["id"]) == ["scopegate:all"]
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)


def test_internal_scope_is_refused_and_nothing_stored(
        http: TestClient, state: ServerState, admin: tuple[str, dict[str, str]]) -> None:
    r = http.post(KEYS, json={"scopes": ["apps:read", "admin:clients"]}, headers=admin[1])
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"
    assert "admin:clients" in r.json()["error_description"]
    assert key_count(state, admin[0]) == 0


def test_scopes_beyond_the_owners_role_are_refused(
        http: TestClient, state: ServerState, member: tuple[str, dict[str, str]]) -> None:
    for body in ({"scopes": ["apps:read", "apps:write"]}, {"scope": "all apps:write"}):
        r = http.post(KEYS, json=body, headers=member[1])
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_scope"
        assert "beyond your role (member)" in r.json()["error_description"]
    assert key_count(state, member[0]) == 0


def test_workspace_needs_membership(http: TestClient, state: ServerState,
                                    member: tuple[str, dict[str, str]]) -> None:
    user_id, headers = member
    ws = f"ws_{uuid.uuid4().hex[:10]}"
    with state.db.session() as session:
        session.add(Workspace(id=ws, name=ws + "-name"))
    r = http.post(KEYS, json={"scopes": ["apps:read"], "workspace": ws}, headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "access_denied"
    with state.db.session() as session:
        session.add(Membership(user_id=user_id, workspace_id=ws, role="viewer"))
    r = http.post(KEYS, json={"scopes": ["apps:run"], "workspace": ws}, headers=headers)
    assert r.status_code == 400 and "beyond your role (viewer)" in r.text
    r = http.post(KEYS, json={"scopes": ["apps:read"], "workspace": ws + "-name"},
                  headers=headers)
    assert r.status_code == 201 and r.json()["workspace"] == ws


@pytest.mark.parametrize(
    ("content", "content_type", "fragment"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"scopes": "apps:read"}', "application/json", "scopes"),
        (b'{"scopes": [1]}', "application/json", "scopes.0"),
        (b'{"scopes": ["apps:read"], "user_id": "usr_other"}', "application/json",
         "user_id"),
        (b'{"scopes": ["apps:read"], "expires_in": true}', "application/json", "expires_in"),
        (b'{"scopes": ["apps:read"], "expires_at": "2030-01-01T00:00:00"}',
         "application/json", "expires_at"),
        (b'{"scopes": ["apps:read"], "expires_in": "1y"}', "application/json", "expires_in"),
        (b'{"scopes": []}', "application/json", "at least one"),
        (b'{"scopes": ["apps:read"], "scope": "all"}', "application/json", "not both"),
        (b'{"scopes": ["apps:read"]}', "text/plain", "application/json"),
        (b"", "application/json", "body is required"),
        (b"[1, 2]", "application/json", "body"),
    ],
)
def test_bad_bodies_are_clear_400s_and_store_nothing(
        http: TestClient, state: ServerState, admin: tuple[str, dict[str, str]],
        content: bytes, content_type: str, fragment: str) -> None:
    r = http.post(KEYS, content=content,
                  headers={**admin[1], "Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert fragment in r.json()["error_description"]
    assert key_count(state, admin[0]) == 0


def test_oversize_body_is_413(http: TestClient, state: ServerState,
                              admin: tuple[str, dict[str, str]]) -> None:
    big = b'{"name": "' + b"x" * (state.settings.max_body_bytes + 10) + b'"}'
    r = http.post(KEYS, content=big, headers={**admin[1], "Content-Type": "application/json"})
    assert r.status_code == 413
    assert key_count(state, admin[0]) == 0


# -- authentication of the management API -------------------------------------------------

def test_missing_and_bad_tokens_get_rfc6750_challenges(
        http: TestClient, state: ServerState) -> None:
    r = http.get(KEYS)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="scopegate"'
    r = http.get(KEYS, headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_wrong_scope_is_403_insufficient_scope(http: TestClient, state: ServerState) -> None:
    user_id = make_user(state, "admin")
    reader = bearer(state, user_id, scope="keys:read")
    assert http.get(KEYS, headers=reader).status_code == 200
    r = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=reader)
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert 'scope="keys:write"' in r.headers["www-authenticate"]
    r = http.get(KEYS, headers=bearer(state, user_id, scope="apps:read"))
    assert r.status_code == 403 and 'scope="keys:read"' in r.headers["www-authenticate"]
    # keys:write implies keys:read through the catalog.
    assert http.get(KEYS, headers=bearer(state, user_id, scope="keys:write")).status_code == 200


def test_service_tokens_cannot_own_keys(http: TestClient, state: ServerState) -> None:
    headers = bearer(state, "sgc_service", subject_type="service")
    r = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


# -- listing -----------------------------------------------------------------------------

def test_list_has_no_secrets_and_only_own_keys(
        http: TestClient, state: ServerState, member: tuple[str, dict[str, str]],
        admin: tuple[str, dict[str, str]]) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()
    http.post(KEYS, json={"scopes": ["apps:read"]}, headers=admin[1])
    r = http.get(KEYS, headers=member[1])
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert [k["id"] for k in keys] == [created["id"]]
    assert created["key"] not in r.text and "key" not in keys[0]
    assert "hash" not in r.text
    assert keys[0]["scopes"] == ["apps:read"] and keys[0]["scope"] == "apps:read"
    assert keys[0]["hint"] == f"sg_{created['id']}…"


# -- introspection: active, revoked, expired, rotated -------------------------------------

def test_valid_key_introspects_as_active_api_key(
        http: TestClient, state: ServerState, member: tuple[str, dict[str, str]],
        introspector: tuple[str, str]) -> None:
    user_id, headers = member
    created = http.post(KEYS, json={"scopes": ["application_connect", "workspace:read"]},
                        headers=headers).json()
    answer = introspect(http, introspector, created["key"])
    assert answer["active"] is True
    assert answer["token_type"] == "Bearer" and answer["key_id"] == created["id"]
    assert answer["scope"] == "scopegate:application_connect workspace:read"
    assert answer["sub"] == user_id and answer["iss"] == ISSUER
    assert answer["client_id"] == f"api_key:{created['id']}"
    assert answer["aud"] == "https://api.scopegate.example"
    assert answer["exp"] == int(datetime.fromisoformat(created["expires_at"]).timestamp())
    listed = http.get(KEYS, headers=headers).json()["keys"][0]
    assert listed["last_used_at"] is not None


def test_typo_key_is_inactive_without_reading_api_keys(
        http: TestClient, state: ServerState, member: tuple[str, dict[str, str]],
        introspector: tuple[str, str]) -> None:
    key = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()["key"]
    typo = key[:12] + ("a" if key[12] != "a" else "b") + key[13:]
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(state.db.engine, "before_cursor_execute", record)
    try:
        assert introspect(http, introspector, typo) == {"active": False}
        assert not [s for s in statements if "api_keys" in s]
        assert introspect(http, introspector, key)["active"] is True
        assert [s for s in statements if "api_keys" in s]
    finally:
        sa.event.remove(state.db.engine, "before_cursor_execute", record)


def test_revoked_key_is_inactive(http: TestClient, state: ServerState,
                                 member: tuple[str, dict[str, str]],
                                 introspector: tuple[str, str]) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()
    r = http.delete(f"{KEYS}/{created['id']}", headers=member[1])
    assert r.status_code == 204
    assert introspect(http, introspector, created["key"]) == {"active": False}
    assert http.delete(f"{KEYS}/{created['id']}", headers=member[1]).status_code == 204
    listed = http.get(KEYS, headers=member[1]).json()["keys"][0]
    assert listed["status"] == "revoked"


def test_expired_key_is_inactive(http: TestClient, state: ServerState,
                                 member: tuple[str, dict[str, str]],
                                 introspector: tuple[str, str], clock: Clock) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"], "expires_in": 3600},
                        headers=member[1]).json()
    assert introspect(http, introspector, created["key"])["active"] is True
    clock.now += timedelta(seconds=3601)
    assert introspect(http, introspector, created["key"]) == {"active": False}


def test_rotated_key_old_secret_works_in_grace_only(
        http: TestClient, state: ServerState, member: tuple[str, dict[str, str]],
        introspector: tuple[str, str], clock: Clock) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()
    r = http.post(f"{KEYS}/{created['id']}/rotate", json={"grace_period": "1h"},
                  headers=member[1])
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    assert rotated["previous_secret_valid_until"] is not None
    assert introspect(http, introspector, created["key"])["active"] is True
    assert introspect(http, introspector, rotated["key"])["active"] is True
    clock.now += timedelta(minutes=61)
    assert introspect(http, introspector, created["key"]) == {"active": False}
    assert introspect(http, introspector, rotated["key"])["active"] is True


def test_rotation_default_grace_and_limits(http: TestClient, state: ServerState,
                                           member: tuple[str, dict[str, str]]) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()
    r = http.post(f"{KEYS}/{created['id']}/rotate", headers=member[1])
    assert r.status_code == 200
    until = datetime.fromisoformat(r.json()["previous_secret_valid_until"])
    assert timedelta(hours=23, minutes=59) < until - datetime.now(UTC) <= timedelta(hours=24)
    r = http.post(f"{KEYS}/{created['id']}/rotate", json={"grace_period": "30d"},
                  headers=member[1])
    assert r.status_code == 400 and "at most 7 days" in r.text


def test_other_users_keys_are_404(http: TestClient, state: ServerState,
                                  member: tuple[str, dict[str, str]],
                                  admin: tuple[str, dict[str, str]]) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()
    assert http.delete(f"{KEYS}/{created['id']}", headers=admin[1]).status_code == 404
    assert http.post(f"{KEYS}/{created['id']}/rotate", headers=admin[1]).status_code == 404
    assert http.delete(f"{KEYS}/not-an-id!", headers=admin[1]).status_code == 404


def test_demoted_owner_key_shrinks_at_introspection(
        http: TestClient, state: ServerState, introspector: tuple[str, str]) -> None:
    user_id = make_user(state, "member")
    created = http.post(KEYS, json={"scopes": ["apps:run", "workspace:read"]},
                        headers=bearer(state, user_id)).json()
    with state.db.session() as session:
        session.execute(sa.update(User).where(User.id == user_id).values(role="viewer"))
    assert introspect(http, introspector, created["key"])["scope"] == "apps:read workspace:read"


def test_rfc7009_revocation_turns_a_leaked_key_off(
        http: TestClient, state: ServerState, member: tuple[str, dict[str, str]],
        introspector: tuple[str, str]) -> None:
    created = http.post(KEYS, json={"scopes": ["apps:read"]}, headers=member[1]).json()
    r = http.post("/oauth/revoke", data={"token": created["key"]}, auth=introspector)
    assert r.status_code == 200
    assert introspect(http, introspector, created["key"]) == {"active": False}
