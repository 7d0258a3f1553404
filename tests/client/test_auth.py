"""ScopegateAuth over MockTransport: attach, refresh, 403 step-up with one retry, sync and async."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
import requests
import requests.adapters

from scopegate.client import (
    ClientCredentialsProvider,
    ScopegateAuth,
    ScopegateRequestsAuth,
    ScopeStepUpRequired,
    TokenSession,
    required_scopes_extension,
)
from scopegate.client._cache import TokenCache
from scopegate.client._exceptions import ScopeNotGranted

from .conftest import API, ISSUER, FakeIssuer, FakeLoginProvider


def cc_session(cache: TokenCache, **kwargs: object) -> TokenSession:
    provider = ClientCredentialsProvider(ISSUER, "svc", "secret")
    return TokenSession(provider, cache=cache, **kwargs)  # type: ignore[arg-type]


def test_attaches_a_token_and_reuses_it(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    auth = ScopegateAuth(cc_session(cache))
    with httpx.Client(transport=transport, auth=auth) as client:
        assert client.get(API + "/things").status_code == 200
        assert client.get(API + "/things").status_code == 200
    assert issuer.token_hits == 1
    assert issuer.requested == ["api"]  # client credentials ask for `api` by default


def test_post_body_is_resent_on_retry(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    issuer.api_requires = {"apps:write"}
    auth = ScopegateAuth(cc_session(cache))
    with httpx.Client(transport=transport, auth=auth) as client:
        response = client.post(API + "/things", content=b"payload")
    assert response.status_code == 200
    assert response.json()["body"] == "payload"


def test_insufficient_scope_steps_up_and_retries_once(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    issuer.api_requires = {"apps:write"}
    auth = ScopegateAuth(cc_session(cache))
    with httpx.Client(transport=transport, auth=auth) as client:
        response = client.get(API + "/things")
    assert response.status_code == 200
    assert issuer.api_calls == 2  # the refused call and exactly one retry
    assert issuer.requested == ["api", "api apps:write"]


def test_a_second_refusal_is_returned_not_looped(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    issuer.api_requires = {"apps:write"}
    issuer.declined = {"apps:write"}
    session = cc_session(cache)
    client = httpx.Client(transport=transport, auth=ScopegateAuth(session))
    with client, pytest.raises(ScopeNotGranted) as info:
        client.get(API + "/things")
    assert info.value.missing == ("apps:write",)
    assert "did not grant" in str(info.value)
    assert issuer.api_calls == 1


def test_expired_token_is_refreshed_before_the_call(
    issuer: FakeIssuer, transport: httpx.MockTransport
) -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    login = FakeLoginProvider(issuer, clock=lambda: now[0])
    session = TokenSession(login, cache=cache, interactive=True)
    with httpx.Client(transport=transport, auth=ScopegateAuth(session)) as client:
        client.get(API + "/a")
        now[0] += 3600  # past expiry minus the margin
        client.get(API + "/b")
    assert issuer.grants == ["authorization_code", "refresh_token"]
    assert len(login.logins) == 1


def test_401_refreshes_and_retries_once(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    session = TokenSession(FakeLoginProvider(issuer), cache=cache, interactive=True)
    with httpx.Client(transport=transport, auth=ScopegateAuth(session)) as client:
        client.get(API + "/a")
        issuer.issued.clear()  # the server revoked every access token
        response = client.get(API + "/b")
    assert response.status_code == 200
    assert issuer.grants == ["authorization_code", "refresh_token"]


def test_per_request_required_scopes(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    with httpx.Client(transport=transport, auth=ScopegateAuth(cc_session(cache))) as client:
        client.get(API + "/a", extensions=required_scopes_extension("keys:read"))
        client.get(API + "/a", extensions=required_scopes_extension("keys:read"))
    assert issuer.requested == ["api keys:read"]


def test_async_client_uses_the_same_flow(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    issuer.api_requires = {"apps:write"}

    async def run() -> int:
        auth = ScopegateAuth(cc_session(cache))
        async with httpx.AsyncClient(transport=transport, auth=auth) as client:
            return (await client.get(API + "/things")).status_code

    assert asyncio.run(run()) == 200
    assert issuer.requested == ["api", "api apps:write"]


def test_non_interactive_step_up_fails_fast_with_a_hint(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    login = FakeLoginProvider(issuer)
    session = TokenSession(login, cache=cache, interactive=True, environment="prod")
    with httpx.Client(transport=transport, auth=ScopegateAuth(session)) as client:
        client.get(API + "/a")
    issuer.api_requires = {"apps:write", "keys:read"}
    quiet = TokenSession(login, cache=cache, interactive=False, environment="prod")
    client = httpx.Client(transport=transport, auth=ScopegateAuth(quiet))
    with client, pytest.raises(ScopeStepUpRequired) as info:
        client.get(API + "/a")
    assert info.value.missing == ("apps:write", "keys:read")
    assert "scopegate login --env prod --scope apps:write --scope keys:read" in str(info.value)
    assert len(login.logins) == 1


def test_one_refresh_under_thread_concurrency(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    issuer.delay = 0.05
    session = cc_session(cache)
    client = httpx.Client(transport=transport, auth=ScopegateAuth(session))
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def call() -> None:
        barrier.wait()
        codes.append(client.get(API + "/a").status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert codes == [200] * 8
    assert issuer.token_hits == 1


def test_one_refresh_under_asyncio_gather(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    async def run() -> list[int]:
        auth = ScopegateAuth(cc_session(cache))
        async with httpx.AsyncClient(transport=transport, auth=auth) as client:
            answers = await asyncio.gather(*(client.get(API + "/a") for _ in range(10)))
        return [a.status_code for a in answers]

    assert asyncio.run(run()) == [200] * 10
    assert issuer.token_hits == 1


class MockAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that answers from the fake issuer."""

    def __init__(self, fake: FakeIssuer) -> None:
        super().__init__()
        self.fake = fake

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        answer = self.fake(
            httpx.Request(
                request.method or "GET",
                request.url or "",
                headers=dict(request.headers),
                content=request.body or b"",
            )
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.content
        response.request = request
        response.connection = self
        response.url = request.url or ""
        return response

    def close(self) -> None:
        return None


def test_requests_adapter_steps_up_and_retries(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    issuer.api_requires = {"apps:write"}
    with requests.Session() as s:
        s.mount(API, MockAdapter(issuer))
        s.auth = ScopegateRequestsAuth(cc_session(cache), http=http)
        response = s.get(API + "/things")
    assert response.status_code == 200
    assert issuer.api_calls == 2
    assert len(response.history) == 1


def test_client_credentials_keep_narrow_and_wide_tokens_side_by_side(
    issuer: FakeIssuer, transport: httpx.MockTransport, cache: TokenCache
) -> None:
    write = required_scopes_extension("apps:write")
    with httpx.Client(transport=transport, auth=ScopegateAuth(cc_session(cache))) as client:
        for extensions in ({}, write, {}, write, {}):
            assert client.get(API + "/a", extensions=extensions).status_code == 200
    # No flip-flopping: one token per scope set, each reused.
    assert issuer.requested == ["api", "api apps:write"]
