"""Seed 000: every SDK request says which SDK and version sent it (``User-Agent``)."""

from __future__ import annotations

import httpx
import pytest
import requests

from scopegate import __version__
from scopegate.client import (
    ApiClient,
    ClientCredentialsProvider,
    ConfigError,
    ScopegateAuth,
    ScopegateRequestsAuth,
    TokenSession,
)
from scopegate.client._cache import TokenCache

from .conftest import API, ISSUER, FakeIssuer

SDK = f"scopegate-python/{__version__}"


def recording(issuer: FakeIssuer, seen: list[tuple[str, str]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("user-agent", "")))
        return issuer(request)

    return httpx.MockTransport(handle)


def session(cache: TokenCache) -> TokenSession:
    return TokenSession(ClientCredentialsProvider(ISSUER, "svc", "secret"), cache=cache)


def test_the_api_client_and_its_token_requests_name_the_sdk(
    issuer: FakeIssuer, cache: TokenCache
) -> None:
    seen: list[tuple[str, str]] = []
    with ApiClient(session(cache), base_url=API, transport=recording(issuer, seen)) as api:
        api.get("/things")
    assert [path for path, _ in seen] == ["/.well-known/oauth-authorization-server",
                                          "/oauth/token", "/things"]
    assert {agent for _, agent in seen} == {SDK}


def test_an_api_sdk_names_itself_before_scopegate(issuer: FakeIssuer, cache: TokenCache) -> None:
    seen: list[tuple[str, str]] = []
    with ApiClient(session(cache), base_url=API, transport=recording(issuer, seen),
                   user_agent="rapidata-python-sdk/2.3.1") as api:
        api.get("/things")
    assert seen[-1] == ("/things", f"rapidata-python-sdk/2.3.1 {SDK}")


def test_an_explicit_header_and_a_plain_httpx_client(issuer: FakeIssuer, cache: TokenCache) -> None:
    seen: list[tuple[str, str]] = []
    with ApiClient(session(cache), base_url=API, transport=recording(issuer, seen),
                   headers={"User-Agent": "mine/1"}) as api:
        api.get("/things")
    assert seen[-1] == ("/things", "mine/1")  # the caller's own header wins
    auth = ScopegateAuth(session(cache), user_agent="acme/0.9")
    with httpx.Client(transport=recording(issuer, seen), auth=auth) as client:
        client.get(API + "/things")
    assert seen[-1] == ("/things", f"acme/0.9 {SDK}")  # replaces python-httpx/...


def test_requests_auth_replaces_the_library_default(issuer: FakeIssuer, cache: TokenCache) -> None:
    with httpx.Client(transport=httpx.MockTransport(issuer)) as http:
        auth = ScopegateRequestsAuth(session(cache), http=http, user_agent="acme/0.9")
        prepared = auth(requests.Request("GET", API + "/things").prepare())
        assert prepared.headers["User-Agent"] == f"acme/0.9 {SDK}"


@pytest.mark.parametrize("bad", ["", "acme sdk (linux)", "acme/1/2", "é/1", "a/" + "1" * 300])
def test_a_user_agent_that_is_not_product_tokens_is_refused(bad: str, cache: TokenCache) -> None:
    with pytest.raises(ConfigError, match="RFC 9110 product tokens"):
        ApiClient(session(cache), base_url=API, user_agent=bad)
