"""Revocation and changes travel between replicas through the shared Redis.

Two server apps run on one database (two replicas); a guard is built apart, as an API's
replica would be, and hears the servers only through Redis (its JWKS come from replica 1).
Each test uses its own issuer, so its Redis keys are its own. Without Redis, a guard polls
the server's revocation feed instead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scopegate.cli.main import app as cli
from scopegate.errors import InvalidToken
from scopegate.guard import Authenticator, GuardConfig
from scopegate.ratelimit import MemoryRateLimiter
from scopegate.scopes import default_catalog
from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import delete_client, register_client
from scopegate.server.admin.keys import NewKey, key_store, plan_key, revoke_key, store_key
from scopegate.server.admin.sessions import end_sessions
from scopegate.server.app import create_app
from scopegate.server.state import ServerState
from tcp_proxy import CuttableProxy

from .conftest import settings_for
from .grants.flow import (
    exchange,
    get_code,
    login,
    make_client,
    make_user,
    refresh,
    token_claims,
)

DEADLINE_S = 1.0
FORM = "application/x-www-form-urlencoded"


class Replicas:
    """Two server replicas on one database and one Redis, and their issuer."""

    def __init__(self, database_url: str, redis_url: str | None) -> None:
        self.issuer = f"http://replica-{uuid.uuid4().hex[:10]}.test"
        self.database_url = database_url
        settings = settings_for(database_url, issuer=self.issuer, redis_url=redis_url,
                                client_cache_ttl=300.0)  # only an event can make it forget
        self.apps = [create_app(settings), create_app(settings)]
        self.http = [TestClient(app, base_url=self.issuer, raise_server_exceptions=False)
                     for app in self.apps]
        for client in self.http:
            client.__enter__()

    def state(self, replica: int) -> ServerState:
        server: ServerState = self.apps[replica].state.server
        return server

    def new_client(self, resource_servers: tuple[str, ...] = ()) -> tuple[str, str]:
        spec = ClientSpec(name="svc", grant_types=("client_credentials",),
                          allowed_scopes=frozenset({"api", "apps:read"}),
                          default_scopes=frozenset({"api"}),
                          resource_servers=resource_servers)
        record, secret = register_client(self.state(0).db, self.state(0).pepper, spec)
        return record.client_id, secret

    def token(self, replica: int, client: tuple[str, str]) -> httpx.Response:
        return self.http[replica].post("/oauth/token", auth=client,
                                       data={"grant_type": "client_credentials"})

    def signed_in_tokens(self, email: str, client_id: str) -> dict[str, Any]:
        """Sign in from a new browser on replica 1 and get tokens there (code + PKCE)."""
        self.state(0).user_grants.login_limits.failures_per_address = 10_000
        browser = TestClient(self.apps[0], base_url=self.issuer)
        try:
            assert login(browser, email).status_code == 303
            code, verifier, _ = get_code(browser, client_id)
            tokens: dict[str, Any] = exchange(browser, client_id, code, verifier).json()
        finally:
            browser.close()
        return tokens

    def close(self) -> None:
        for client in self.http:
            client.__exit__(None, None, None)


@pytest.fixture
def replicas(redis_url: str, tmp_path: Any) -> Iterator[Replicas]:
    pair = Replicas(f"sqlite:///{tmp_path / 'scopegate.db'}", redis_url)
    yield pair
    pair.close()


def guard_for(replicas: Replicas, redis_url: str,
              introspect_as: tuple[str, str] | None = None) -> Authenticator:
    """A guard replica: keys (and introspection) from server replica 1, revocations from
    Redis only."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=replicas.apps[0]),
                             base_url=replicas.issuer)
    client_id, secret = introspect_as or (None, None)
    config = GuardConfig(issuer=replicas.issuer, redis_url=redis_url, audience_mode="off",
                         client_id=client_id, client_secret=secret)
    return Authenticator(config, catalog=default_catalog(), limiter=MemoryRateLimiter(),
                         http=http)


async def started(guard: Authenticator, token: str) -> None:
    """The token passes (and is cached); the guard's event link is up."""
    await guard.authenticate(token)
    watcher = guard.revocation.watcher
    assert watcher is not None
    await asyncio.wait_for(watcher.connected_event.wait(), 5)


async def refused_within(guard: Authenticator, token: str, limit_s: float) -> float:
    """Seconds until the guard refuses ``token``; fails past ``limit_s``."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        try:
            await guard.authenticate(token)
        except InvalidToken:
            return time.monotonic() - start
        await asyncio.sleep(0.01)
    raise AssertionError(f"the guard still accepts the token after {limit_s} s")


def polling_guard(server: Replicas, resource_server: tuple[str, str]) -> Authenticator:
    """A guard without Redis: it polls replica 1's revocation feed every 0.2 s."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=server.apps[0]),
                             base_url=server.issuer)
    config = GuardConfig(issuer=server.issuer, audience_mode="off",
                         client_id=resource_server[0], client_secret=resource_server[1],
                         revocation_poll_s=0.2)
    return Authenticator(config, catalog=default_catalog(), limiter=MemoryRateLimiter(),
                         http=http)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def two_sessions(replicas: Replicas) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A user signed in from two browsers, with tokens got through each: (user, the
    tokens of the session to end, the tokens of the one kept)."""
    user = make_user(replicas.state(0))
    client_id, _ = make_client(replicas.state(0))
    ended, kept = (replicas.signed_in_tokens(user.email, client_id) for _ in range(2))
    sid = token_claims(ended["access_token"])["sid"]
    assert sid.startswith("ses_") and token_claims(ended["id_token"])["sid"] == sid
    assert token_claims(kept["access_token"])["sid"] not in (sid, None)
    return user, {**ended, "client_id": client_id, "sid": sid}, kept


async def only_its_tokens_are_refused(guard: Authenticator, ended: str, kept: str,
                                      end: Callable[[], object]) -> None:
    """Both tokens pass; ``end`` ends the first one's session; within a second the
    guard refuses that token and still accepts the other."""
    try:
        await started(guard, ended)
        await guard.authenticate(kept)
        await asyncio.to_thread(end)
        assert await refused_within(guard, ended, DEADLINE_S) < DEADLINE_S
        await guard.authenticate(kept)
    finally:
        await guard.aclose()


def test_a_token_revoked_on_one_replica_is_refused_by_a_separate_guard_within_a_second(
        replicas: Replicas, redis_url: str) -> None:
    client = replicas.new_client()
    token = replicas.token(0, client).json()["access_token"]

    async def scenario() -> None:
        guard = guard_for(replicas, redis_url)
        try:
            await started(guard, token)
            revoked = await asyncio.to_thread(
                replicas.http[1].post, "/oauth/revoke", auth=client, data={"token": token})
            assert revoked.status_code == 200
            assert await refused_within(guard, token, DEADLINE_S) < DEADLINE_S
            # a token of the same client issued afterwards still passes
            fresh = (await asyncio.to_thread(replicas.token, 1, client)).json()
            await guard.authenticate(fresh["access_token"])
        finally:
            await guard.aclose()

    run(scenario)


def test_a_client_deleted_on_replica_2_is_refused_by_replica_1_and_the_guard(
        replicas: Replicas, redis_url: str) -> None:
    client = replicas.new_client()
    assert replicas.token(0, client).status_code == 200  # replica 1 caches the client (300 s)
    token = replicas.token(1, client).json()["access_token"]

    async def scenario() -> None:
        guard = guard_for(replicas, redis_url)
        try:
            await started(guard, token)
            await asyncio.to_thread(delete_client, replicas.state(1).db, client[0])
            assert await refused_within(guard, token, DEADLINE_S) < DEADLINE_S
        finally:
            await guard.aclose()

    run(scenario)
    start = time.monotonic()
    while replicas.token(0, client).status_code == 200:
        assert time.monotonic() - start < DEADLINE_S, "replica 1 still issues to the client"
        time.sleep(0.01)


def test_a_redis_outage_never_revives_a_revoked_token_and_the_guard_resyncs_after(
        replicas: Replicas, redis_url: str) -> None:
    host, port = redis_url.removeprefix("redis://").split("/")[0].split(":")
    proxy = CuttableProxy((host, int(port)))
    proxy.start()
    guard_redis = f"redis://127.0.0.1:{proxy.port}/0"
    client = replicas.new_client()
    before, during = (replicas.token(0, client).json()["access_token"] for _ in range(2))

    async def scenario() -> None:
        guard = guard_for(replicas, guard_redis)
        try:
            await started(guard, before)
            await guard.authenticate(during)
            await asyncio.to_thread(replicas.http[0].post, "/oauth/revoke", auth=client,
                                    data={"token": before})
            await refused_within(guard, before, DEADLINE_S)
            proxy.cut()
            await asyncio.sleep(1.5)
            assert guard.revocation.staleness_s() > 1.0  # the gauge says it is stale
            with pytest.raises(InvalidToken):  # what was known stays known
                await guard.authenticate(before)
            await asyncio.to_thread(replicas.http[1].post, "/oauth/revoke", auth=client,
                                    data={"token": during})
            proxy.restore()
            await refused_within(guard, during, 3.0)  # missed while away: resynced
            assert guard.revocation.staleness_s() == 0.0
        finally:
            await guard.aclose()
            proxy.cut()

    run(scenario)


def test_refresh_reuse_on_one_replica_ends_the_winners_access_token_at_the_guard(
        replicas: Replicas, redis_url: str) -> None:
    browser, state = replicas.http[0], replicas.state(0)
    state.user_grants.login_limits.failures_per_address = 10_000
    assert login(browser, make_user(state).email).status_code == 303
    client_id, _ = make_client(state)
    code, verifier, _ = get_code(browser, client_id)
    first = exchange(browser, client_id, code, verifier).json()
    winner = refresh(browser, client_id, first["refresh_token"]).json()  # the thief, say

    async def scenario() -> None:
        guard = guard_for(replicas, redis_url)
        try:
            await started(guard, winner["access_token"])
            reuse = await asyncio.to_thread(refresh, replicas.http[1], client_id,
                                            first["refresh_token"])
            assert reuse.json()["error"] == "invalid_grant"
            await refused_within(guard, winner["access_token"], DEADLINE_S)
        finally:
            await guard.aclose()

    run(scenario)


def test_an_api_key_revoked_on_a_replica_is_refused_at_once_despite_the_guard_cache(
        replicas: Replicas, redis_url: str) -> None:
    state = replicas.state(0)
    user = make_user(state)
    resource_server = replicas.new_client(resource_servers=("https://api.scopegate.example",))
    plan = plan_key(state.catalog, NewKey(scopes=("apps:read",)), datetime.now(UTC))
    record, secret = store_key(key_store(state.db, state.settings.api_key_prefix),
                               state.catalog, plan, user.id)

    async def scenario() -> None:
        guard = guard_for(replicas, redis_url, introspect_as=resource_server)
        try:
            await started(guard, secret)  # cached for introspection_ttl_s (30 s)
            other = replicas.state(1)
            await asyncio.to_thread(revoke_key, key_store(other.db, "sg"), record.id)
            await refused_within(guard, secret, DEADLINE_S)
        finally:
            await guard.aclose()

    run(scenario)


def test_without_redis_a_guard_polling_the_revocation_feed_refuses_within_its_poll_bound(
        tmp_path: Any) -> None:
    server = Replicas(f"sqlite:///{tmp_path / 'scopegate.db'}", None)
    try:
        client = server.new_client()
        resource_server = server.new_client(resource_servers=("https://api.scopegate.example",))
        token = server.token(0, client).json()["access_token"]
        not_a_resource_server = server.http[0].post(
            "/oauth/revocations", auth=client, content=b"", headers={"Content-Type": FORM})
        assert not_a_resource_server.json()["error"] == "unauthorized_client"

        async def scenario() -> None:
            guard = polling_guard(server, resource_server)
            try:
                await started(guard, token)
                await asyncio.to_thread(server.http[0].post, "/oauth/revoke", auth=client,
                                        data={"token": token})
                assert await refused_within(guard, token, 1.0) < 1.0  # poll 0.2 s + margin
            finally:
                await guard.aclose()

        run(scenario)
    finally:
        server.close()


def test_a_client_deleted_with_the_cli_stops_at_a_running_replica_within_a_second(
        replicas: Replicas, redis_url: str) -> None:
    client = replicas.new_client()
    assert replicas.token(0, client).status_code == 200  # cached for 300 s
    env = {"SCOPEGATE_DATABASE_URL": replicas.database_url, "SCOPEGATE_ISSUER": replicas.issuer,
           "SCOPEGATE_REDIS_URL": redis_url}
    result = CliRunner().invoke(cli, ["clients", "delete", client[0]], env=env)
    assert result.exit_code == 0, result.output
    start = time.monotonic()
    while replicas.token(0, client).status_code == 200:
        assert time.monotonic() - start < DEADLINE_S, "the replica still issues to the client"
        time.sleep(0.01)


def test_ending_one_session_ends_its_tokens_at_a_polling_guard_and_keeps_the_others(
        tmp_path: Any) -> None:
    server = Replicas(f"sqlite:///{tmp_path / 'scopegate.db'}", None)
    try:
        user, ended, kept = two_sessions(server)
        resource_server = server.new_client(resource_servers=("https://api.scopegate.example",))
        run(lambda: only_its_tokens_are_refused(
            polling_guard(server, resource_server), ended["access_token"],
            kept["access_token"], lambda: end_sessions(server.state(0).db, user, ended["sid"])))
        client_id = ended["client_id"]
        assert refresh(server.http[1], client_id, ended["refresh_token"]).json()["error"] \
            == "invalid_grant"
        assert refresh(server.http[1], client_id, kept["refresh_token"]).status_code == 200
        feeds = [{(i["kind"], i["value"]) for i in server.http[replica].post(
            "/oauth/revocations", auth=resource_server, content=b"",
            headers={"Content-Type": FORM}).json()["revocations"]} for replica in (0, 1)]
        jti = token_claims(ended["access_token"])["jti"]
        assert feeds[0] >= {("sid", ended["sid"]), ("jti", jti)}
        assert ("jti", jti) in feeds[1]  # the other replica has the deny-listed id (store)
    finally:
        server.close()


def test_a_session_ended_with_the_cli_ends_its_tokens_at_a_redis_guard_within_a_second(
        replicas: Replicas, redis_url: str) -> None:
    user, ended, kept = two_sessions(replicas)
    env = {"SCOPEGATE_DATABASE_URL": replicas.database_url, "SCOPEGATE_ISSUER": replicas.issuer,
           "SCOPEGATE_REDIS_URL": redis_url}

    def end() -> None:
        result = CliRunner().invoke(cli, ["users", "end-sessions", "--email", user.email,
                                          "--session", ended["sid"]], env=env)
        assert result.exit_code == 0, result.output

    run(lambda: only_its_tokens_are_refused(guard_for(replicas, redis_url),
                                            ended["access_token"], kept["access_token"], end))
    client_id = ended["client_id"]
    assert refresh(replicas.http[1], client_id, ended["refresh_token"]).json()["error"] \
        == "invalid_grant"
    assert refresh(replicas.http[1], client_id, kept["refresh_token"]).status_code == 200
