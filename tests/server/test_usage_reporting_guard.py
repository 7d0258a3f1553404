"""A real guard reports what passed it to a real server, and follows the audience mode an
operator sets there (seed 000's rollout, decided in the console instead of a redeploy)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from scopegate.guard import AudienceMode, Guard, GuardConfig, requires
from scopegate.guard.adapters.starlette import GuardMiddleware
from scopegate.ratelimit import MemoryRateLimiter
from scopegate.server.admin.audience import set_audience_mode
from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import register_client
from scopegate.server.admin.resources import add_resource, resource_spec
from scopegate.server.app import create_app
from scopegate.server.state import ServerState
from scopegate.store.models.base import utcnow
from scopegate.store.repositories.usage import UsageRepository

from .conftest import ISSUER, settings_for

API = "https://apps.usage.example"


class World:
    """One server, its resource, a guard client and a caller client."""

    def __init__(self, database_url: str, redis_url: str | None = None) -> None:
        self.redis_url = redis_url
        self.app = create_app(settings_for(database_url, redis_url=redis_url))
        self.http = TestClient(self.app, base_url=ISSUER)
        self.http.__enter__()
        state: ServerState = self.app.state.server
        self.state = state
        add_resource(state.db, resource_spec(state.catalog, identifier=API,
                                             scopes=["apps:read"]), {})
        self.guard_client = self._client(resource_servers=(API,))
        self.caller = self._client()

    def _client(self, resource_servers: tuple[str, ...] = ()) -> tuple[str, str]:
        spec = ClientSpec(name="t", grant_types=("client_credentials",),
                          allowed_scopes=frozenset({"api", "apps:read"}),
                          default_scopes=frozenset({"apps:read"}),
                          resource_servers=resource_servers)
        record, secret = register_client(self.state.db, self.state.pepper, spec)
        return record.client_id, secret

    def token(self, **form: str) -> str:
        reply = self.http.post("/oauth/token", auth=self.caller, data={
            "grant_type": "client_credentials", "scope": "apps:read", **form})
        assert reply.status_code == 200, reply.text
        return str(reply.json()["access_token"])


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    made = World(f"sqlite:///{tmp_path / 'usage.db'}")
    yield made
    made.http.__exit__(None, None, None)


def guarded_api(world: World) -> tuple[Starlette, Guard]:
    config = GuardConfig(issuer=ISSUER, audience=API, audience_mode=AudienceMode.WARN,
                         client_id=world.guard_client[0], client_secret=world.guard_client[1],
                         redis_url=world.redis_url,
                         usage_report_s=3600)  # reports are flushed by hand (or by a notice)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=ISSUER)
    guard = Guard(config, limiter=MemoryRateLimiter(), http=http)

    async def apps(request: Request) -> PlainTextResponse:
        return PlainTextResponse("apps")

    app = Starlette(routes=[Route("/apps", requires("apps:read")(apps))],
                    middleware=[Middleware(GuardMiddleware, guard=guard)])
    return app, guard


def test_two_sdk_versions_are_reported_and_enforce_refuses_the_old_one(world: World) -> None:
    old_token = world.token()  # no resource: no audience, as an old SDK asks
    new_token = world.token(resource=API)

    async def scenario() -> None:
        app, guard = guarded_api(world)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://api") as api:
            async def call(token: str, version: str) -> int:
                return (await api.get("/apps", headers={
                    "Authorization": f"Bearer {token}",
                    "User-Agent": f"acme-sdk/{version} httpx/0.28"})).status_code

            assert [await call(old_token, "1.0.0") for _ in range(3)] == [200] * 3
            assert await call(new_token, "2.0.0") == 200
            assert guard.usage is not None
            await guard.usage.flush()
            since = utcnow() - timedelta(hours=1)
            callers = UsageRepository(world.state.db).callers(API, since)
            assert [(c.client_id, c.sdk, c.sdk_version, c.missing) for c in callers] == [
                (world.caller[0], "acme-sdk", "1.0.0", 3),
                (world.caller[0], "acme-sdk", "2.0.0", 0)]
            set_audience_mode(world.state.db, API, "enforce", "usr_operator")
            await guard.usage.flush()  # the next report learns the mode
            assert await call(old_token, "1.0.0") == 401
            assert await call(new_token, "2.0.0") == 200
            await guard.aclose()

    asyncio.run(scenario())


def test_the_guard_keeps_serving_and_counts_what_it_could_not_send(world: World) -> None:
    token = world.token(resource=API)

    async def scenario() -> None:
        app, guard = guarded_api(world)
        assert guard.usage is not None
        guard.usage.http = httpx.AsyncClient()  # a real connection, to a port where
        guard.usage.url = "http://127.0.0.1:9/api/v1/usage"  # nothing listens
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://api") as api:
            headers = {"Authorization": f"Bearer {token}"}
            assert (await api.get("/apps", headers=headers)).status_code == 200
            await guard.usage.flush()
            assert guard.usage.dropped == 1 and guard.usage.counts == {}
            assert (await api.get("/apps", headers=headers)).status_code == 200
        await guard.aclose()  # the last count is lost too, and the guard still closes
        assert guard.usage.dropped == 2  # both requests: told to the server next time
        await guard.usage.http.aclose()

    asyncio.run(scenario())


def test_with_redis_a_mode_switch_reaches_the_guard_at_once(tmp_path: Any,
                                                            redis_url: str) -> None:
    world = World(f"sqlite:///{tmp_path / 'usage.db'}", redis_url)
    old_token = world.token()

    async def scenario() -> None:
        app, guard = guarded_api(world)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://api") as api:
            headers = {"Authorization": f"Bearer {old_token}"}
            assert (await api.get("/apps", headers=headers)).status_code == 200
            watcher = guard.authenticator.revocation.watcher
            assert watcher is not None
            await asyncio.wait_for(watcher.connected_event.wait(), 5)
            await asyncio.to_thread(set_audience_mode, world.state.db, API, "enforce", None)
            for _ in range(100):  # the report interval is an hour: only the notice can do it
                if (await api.get("/apps", headers=headers)).status_code == 401:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the guard did not follow the switch within 1 s")
        await guard.aclose()

    try:
        asyncio.run(scenario())
    finally:
        world.http.__exit__(None, None, None)
