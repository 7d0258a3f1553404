"""Secrets go only where they belong: hostile authorization servers and APIs on loopback.

Token requests never follow redirects (RFC 6749 §10.4); metadata naming another issuer
is refused before any credential leaves (RFC 8414 §3.3, RFC 9207); credentials never go
over cleartext HTTP to a public host (RFC 6749 §2.3.1, §3.2); a bearer token never goes
to an origin other than the API it was attached for (RFC 6750 §5.3).
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse
from collections.abc import Callable

import httpx
import pytest
import requests

from scopegate.client import (
    ApiClient,
    AsyncApiClient,
    AuthenticationError,
    AuthorizationCodePkceProvider,
    ClientCredentialsProvider,
    ScopegateRequestsAuth,
    Token,
    TokenSession,
)
from scopegate.client._flow import drive_sync
from scopegate.client._locks import LockRegistry

from .loopback import LoopbackIssuer, LoopbackServer

pytestmark = pytest.mark.timeout(30)


def stale_token(issuer: str) -> Token:
    """An expired client-credentials token whose refresh token must never leak."""
    return Token(
        access_token="old-access",
        issuer=issuer,
        client_id="svc",
        scopes=frozenset({"api"}),
        expires_at=time.time() - 10,
        refresh_token="the-refresh-token",
    )


def call_api_client(session: TokenSession, base: str) -> None:
    with ApiClient(session, base_url=base, follow_redirects=True, timeout=5) as client:
        client.get("/api/things")


def call_async_api_client(session: TokenSession, base: str) -> None:
    async def run() -> None:
        async with AsyncApiClient(
            session, base_url=base, follow_redirects=True, timeout=5
        ) as client:
            await client.get("/api/things")

    asyncio.run(run())


def call_requests(session: TokenSession, base: str) -> None:
    with httpx.Client(follow_redirects=True, timeout=5) as http, requests.Session() as s:
        s.auth = ScopegateRequestsAuth(session, http=http)
        s.get(base + "/api/things", timeout=5)


CALLERS = {"httpx": call_api_client, "asyncio": call_async_api_client, "requests": call_requests}


@pytest.mark.parametrize("status", [307, 302])
@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_token_requests_never_follow_a_redirect(status: int, grant: str, caller: str) -> None:
    with LoopbackServer() as server, LoopbackServer() as elsewhere:
        issuer = LoopbackIssuer(server)
        server.routes["/oauth/token"] = lambda seen: httpx.Response(
            status, headers={"Location": elsewhere.url + "/steal"}
        )
        elsewhere.routes["/steal"] = lambda seen: httpx.Response(
            200, json={"access_token": "planted", "token_type": "Bearer", "expires_in": 60}
        )
        session = TokenSession(ClientCredentialsProvider(issuer.url, "svc", "s3cret"))
        if grant == "refresh_token":
            session.cache.save(stale_token(issuer.url))
        with pytest.raises(AuthenticationError, match="redirect"):
            CALLERS[caller](session, server.url)
        (sent,) = [seen for seen in server.seen if seen.path == "/oauth/token"]
        assert sent.form["grant_type"] == grant  # the request went to the token endpoint only
    assert elsewhere.seen == []  # not even a request line reached the other origin
    assert all(t.access_token != "planted" for t in session.cache.tokens(issuer.url, "svc"))


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_metadata_naming_another_issuer_is_refused_before_the_secret_is_sent(
    caller: str,
) -> None:
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server, issuer_claim="https://auth.attacker.example")
        session = TokenSession(ClientCredentialsProvider(issuer.url, "svc", "s3cret"))
        with pytest.raises(AuthenticationError, match=r"issuer.*auth\.attacker\.example"):
            CALLERS[caller](session, server.url)
    assert "/oauth/token" not in server.paths()


def browser(answer: dict[str, str]) -> Callable[[str], bool]:
    """Play the browser: send ``answer`` (plus the right state) to the loopback redirect."""

    def open_url(url: str) -> bool:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        params = {"state": query["state"], **answer}
        threading.Thread(target=httpx.get, args=(query["redirect_uri"],),
                         kwargs={"params": params}).start()
        return True

    return open_url


def pkce_login(issuer: LoopbackIssuer, answer: dict[str, str]) -> Token:
    provider = AuthorizationCodePkceProvider(
        issuer.url, "cli-app", opener=browser(answer), announce=lambda url: None, timeout=10
    )
    with httpx.Client(timeout=5) as http:
        return drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())


@pytest.mark.parametrize(
    ("supported", "iss"),
    [(False, "https://auth.attacker.example"), (True, "https://auth.attacker.example"),
     (True, None)],
)
def test_authorization_response_from_another_issuer_is_refused(
    supported: bool, iss: str | None
) -> None:
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server, iss_supported=supported)
        answer = {"code": "the-code"} | ({"iss": iss} if iss else {})
        with pytest.raises(AuthenticationError, match="iss"):
            pkce_login(issuer, answer)
    assert "/oauth/token" not in server.paths()  # the code was never redeemed


def test_authorization_response_from_the_right_issuer_is_redeemed() -> None:
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server, iss_supported=True)
        token = pkce_login(issuer, {"code": "the-code", "iss": issuer.url})
    assert token.access_token.startswith("opaque-")


def _get_through_requests(session: TokenSession, base_url: str) -> int:
    with httpx.Client(timeout=5) as http, requests.Session() as s:
        s.auth = ScopegateRequestsAuth(session, http=http)
        return s.get(base_url + "/api/moved", timeout=5).status_code


def _get_through_httpx(session: TokenSession, base_url: str) -> int:
    with ApiClient(session, base_url=base_url, follow_redirects=True, timeout=5) as c:
        return c.get("/api/moved").status_code


@pytest.mark.parametrize("get", [_get_through_requests, _get_through_httpx],
                         ids=["requests", "httpx"])
def test_an_adapter_never_sends_the_token_to_another_origin(
        get: Callable[[TokenSession, str], int]) -> None:
    with LoopbackServer() as server, LoopbackServer() as elsewhere:
        issuer = LoopbackIssuer(server)
        server.routes["/api/moved"] = lambda seen: httpx.Response(
            302, headers={"Location": elsewhere.url + "/api/things"}
        )
        elsewhere.routes["/api/things"] = lambda seen: httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
        session = TokenSession(ClientCredentialsProvider(issuer.url, "svc", "s3cret"))
        status = get(session, server.url)
    assert status == 401  # the other origin's refusal, passed on as is
    assert elsewhere.seen and {seen.path for seen in elsewhere.seen} == {"/api/things"}
    assert all("Authorization" not in seen.headers for seen in elsewhere.seen)


def test_repr_of_a_token_masks_the_secrets() -> None:
    token = Token(
        access_token="eyJ-the-access-token",
        issuer="https://auth.example.test",
        client_id="svc",
        scopes=frozenset({"api"}),
        refresh_token="the-refresh-token",
        id_token="the-id-token",
    )
    shown = repr(token) + str(token) + f"{token!r}"
    for secret in ("eyJ-the-access-token", "the-refresh-token", "the-id-token"):
        assert secret not in shown
    assert "'***'" in shown and "client_id='svc'" in shown
