"""API keys as bearer tokens at the guard, through RFC 7662 introspection of the real server.

The guard's introspection client talks to the running app in-process (httpx's
ASGITransport); revoked, expired and rotated keys are checked after the guard's cache
lets go of them, which is the staleness an operator configures (``introspection_ttl_s``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.errors import InsufficientScope, InvalidToken
from scopegate.guard import (
    ApiKeyCaller,
    Authenticator,
    Guard,
    GuardConfig,
    RequestInfo,
    requires,
)
from scopegate.guard.declaration import declaration_of
from scopegate.ratelimit import MemoryRateLimiter
from scopegate.scopes import default_catalog
from scopegate.server.management.api_keys import repository
from scopegate.server.state import ServerState
from scopegate.store.models.users import User
from scopegate.tokens import access_token_claims

ISSUER = "http://testserver"
API = "https://api.scopegate.example"
KEYS = "/api/v1/keys"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(state: ServerState) -> Iterator[Clock]:
    repo = repository(state)
    original, fake = repo.clock, Clock()
    repo.clock = fake
    yield fake
    repo.clock = original


@pytest.fixture
def user_headers(state: ServerState) -> dict[str, str]:
    user_id = f"usr_{uuid.uuid4().hex[:12]}"
    with state.db.session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", password_hash="x",
                         role="member"))
    claims = access_token_claims(issuer=ISSUER, subject=user_id, subject_type="user",
                                 client_id="cli", audience=(ISSUER + "/api/v1/",),
                                 scopes=["keys:write", "keys:read", "scopegate:all"], ttl=300)
    return {"Authorization": "Bearer " + state.signing_keys.signer.sign(claims, typ="at+jwt"),
            "X-User": user_id}


class GuardHarness:
    """A guard whose introspection calls reach the app under test."""

    def __init__(self, app: Starlette, client: tuple[str, str]) -> None:
        self.app = app
        self.client = client

    def check(self, token: str, *scopes: str) -> Any:
        async def run() -> Any:
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                     base_url=ISSUER)
            config = GuardConfig(issuer=ISSUER, audience=API, client_id=self.client[0],
                                 client_secret=self.client[1])
            catalog = default_catalog()
            authenticator = Authenticator(config, catalog=catalog,
                                          limiter=MemoryRateLimiter(), http=http)
            guard = Guard(config, catalog=catalog, authenticator=authenticator)

            @requires(*scopes)
            def route() -> None: ...

            declaration = declaration_of(route)
            assert declaration is not None
            ctx = guard.context(RequestInfo("GET", "/apps", "/apps"), token, declaration)
            try:
                return await guard.check(ctx), authenticator.introspection
            finally:
                await http.aclose()

        return asyncio.run(run())


@pytest.fixture
def guard(app: Starlette, http: TestClient, make_client: Any) -> GuardHarness:
    return GuardHarness(app, make_client(resource_servers=(API,)))


def new_key(http: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = http.post(KEYS, json={"scopes": ["apps:run", "workspace:read"], **body},
                  headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_valid_key_passes_the_guard_with_its_scopes(
        http: TestClient, guard: GuardHarness, user_headers: dict[str, str]) -> None:
    created = new_key(http, user_headers)
    caller, _ = guard.check(created["key"], "apps:read")  # apps:run implies apps:read
    assert isinstance(caller, ApiKeyCaller)
    assert caller.subject == user_headers["X-User"]
    assert caller.client_id == f"api_key:{created['id']}"
    assert {"apps:run", "apps:read", "workspace:read"} <= caller.scopes
    with pytest.raises(InsufficientScope) as refused:
        guard.check(created["key"], "apps:write")
    assert refused.value.required == ("apps:write",)


def test_revoked_key_is_refused_at_the_guard(
        http: TestClient, guard: GuardHarness, user_headers: dict[str, str]) -> None:
    created = new_key(http, user_headers)
    guard.check(created["key"], "apps:read")
    assert http.delete(f"{KEYS}/{created['id']}", headers=user_headers).status_code == 204
    with pytest.raises(InvalidToken):
        guard.check(created["key"], "apps:read")


def test_expired_key_is_refused_at_the_guard(
        http: TestClient, guard: GuardHarness, user_headers: dict[str, str],
        clock: Clock) -> None:
    created = new_key(http, user_headers, expires_in="2h")
    guard.check(created["key"], "apps:read")
    clock.now += timedelta(hours=2, seconds=1)
    with pytest.raises(InvalidToken):
        guard.check(created["key"], "apps:read")


def test_rotated_key_works_in_grace_then_not(
        http: TestClient, guard: GuardHarness, user_headers: dict[str, str],
        clock: Clock) -> None:
    created = new_key(http, user_headers)
    rotated = http.post(f"{KEYS}/{created['id']}/rotate", json={"grace_period": 600},
                        headers=user_headers).json()
    guard.check(created["key"], "apps:read")
    guard.check(rotated["key"], "apps:read")
    clock.now += timedelta(seconds=601)
    with pytest.raises(InvalidToken):
        guard.check(created["key"], "apps:read")
    guard.check(rotated["key"], "apps:read")


def test_typo_key_is_refused(http: TestClient, guard: GuardHarness,
                             user_headers: dict[str, str]) -> None:
    key = new_key(http, user_headers)["key"]
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        guard.check(typo, "apps:read")


def member_token(state: ServerState, scopes: list[str]) -> tuple[str, dict[str, str]]:
    """A member and an access token of theirs for the management API."""
    user_id = f"usr_{uuid.uuid4().hex[:12]}"
    with state.db.session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", password_hash="x",
                         role="member"))
    claims = access_token_claims(issuer=ISSUER, subject=user_id, subject_type="user",
                                 client_id="cli", audience=(ISSUER + "/api/v1/",),
                                 scopes=scopes, ttl=300)
    signed = state.signing_keys.signer.sign(claims, typ="at+jwt")
    return user_id, {"Authorization": "Bearer " + signed}


@pytest.mark.parametrize("body", [{"scopes": ["scopegate:all"]}, {"scope": "all"}])
def test_a_members_all_key_does_what_a_member_may_and_no_more(
        http: TestClient, guard: GuardHarness, state: ServerState, body: dict[str, Any]) -> None:
    """Seed 004: "all" is everything the holder's role allows, judged when the key is used."""
    member_scopes = sorted(default_catalog().role_scopes("member"))
    _, headers = member_token(state, member_scopes)  # all a member's token can carry
    r = http.post(KEYS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == ["scopegate:all"] and r.json()["scope"] == "all"
    caller, _ = guard.check(r.json()["key"], "apps:run", "workspace:read")
    assert "apps:write" not in caller.scopes and "admin:users" not in caller.scopes
    for beyond in ("apps:write", "admin:users"):  # an admin's, not a member's
        with pytest.raises(InsufficientScope) as refused:
            guard.check(r.json()["key"], beyond)
        assert refused.value.status_code == 403
        assert refused.value.required == (beyond,)


def test_an_all_key_never_exceeds_the_token_that_creates_it(
        http: TestClient, state: ServerState) -> None:
    _, headers = member_token(state, ["keys:write", "keys:read", "apps:read"])
    r = http.post(KEYS, json={"scopes": ["scopegate:all"]}, headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert "beyond your access token" in r.json()["error_description"]
    assert "apps:run" in r.json()["error_description"]
