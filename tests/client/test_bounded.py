"""Nothing hangs, nothing explodes: token endpoints that hang, trickle, flood or lie.

Every request the SDK makes has a total deadline (not only per-read timeouts), a token
response is read only up to a size limit, and odd ``expires_in`` values give a
short-lived token, never an eternal one or a crash (RFC 6749 §5.1).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import httpx
import pytest
import requests

from scopegate.client import (
    ApiClient,
    AsyncApiClient,
    ClientCredentialsProvider,
    ScopegateAuth,
    ScopegateRequestsAuth,
    Token,
    TokenEndpointError,
    TokenSession,
)

from .loopback import LoopbackIssuer, LoopbackServer, endless_chunks, hang, trickle

pytestmark = pytest.mark.timeout(30)

TIMEOUT = 1.0  # what each caller asks for; the tests allow a few times that


def session_for(issuer: LoopbackIssuer, **kwargs: float) -> TokenSession:
    return TokenSession(ClientCredentialsProvider(issuer.url, "svc", "s3cret", **kwargs))


def via_api_client(issuer: LoopbackIssuer) -> None:
    with ApiClient(session_for(issuer), base_url=issuer.url, timeout=TIMEOUT) as client:
        client.get("/api/things")


def via_async_api_client(issuer: LoopbackIssuer) -> None:
    async def run() -> None:
        async with AsyncApiClient(
            session_for(issuer), base_url=issuer.url, timeout=TIMEOUT
        ) as client:
            await client.get("/api/things")

    asyncio.run(run())


def via_httpx_auth(issuer: LoopbackIssuer) -> None:
    with httpx.Client(auth=ScopegateAuth(session_for(issuer)), timeout=TIMEOUT) as client:
        client.get(issuer.url + "/api/things")


def via_get_token(issuer: LoopbackIssuer) -> None:
    session_for(issuer, http_timeout=TIMEOUT).get_token()


def via_aget_token(issuer: LoopbackIssuer) -> None:
    asyncio.run(session_for(issuer, http_timeout=TIMEOUT).aget_token())


def via_requests(issuer: LoopbackIssuer) -> None:
    with requests.Session() as s:
        s.auth = ScopegateRequestsAuth(session_for(issuer, http_timeout=TIMEOUT))
        s.get(issuer.url + "/api/things", timeout=TIMEOUT)


CALLERS: dict[str, Callable[[LoopbackIssuer], None]] = {
    "ApiClient": via_api_client,
    "AsyncApiClient": via_async_api_client,
    "httpx.Client(auth=)": via_httpx_auth,
    "get_token": via_get_token,
    "aget_token": via_aget_token,
    "requests": via_requests,
}


def timed(call: Callable[[], None]) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_a_token_endpoint_that_never_answers_times_out(caller: str) -> None:
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server)
        server.routes["/oauth/token"] = lambda seen: hang(server)
        start = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            CALLERS[caller](issuer)
        assert time.monotonic() - start < 4 * TIMEOUT


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_a_trickling_token_endpoint_cannot_stretch_the_deadline(caller: str) -> None:
    body = b'{"access_token": "slow", "token_type": "Bearer", "expires_in": 3600}' + b" " * 200
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server)
        # A byte every 0.05 s: no single read ever waits a full second, the whole takes 13 s.
        server.routes["/oauth/token"] = lambda seen: trickle(server, body, every=0.05)
        start = time.monotonic()
        with pytest.raises(httpx.TimeoutException, match="deadline"):
            CALLERS[caller](issuer)
        assert time.monotonic() - start < 4 * TIMEOUT


@pytest.mark.parametrize("caller", ["ApiClient", "AsyncApiClient", "get_token", "requests"])
def test_a_huge_chunked_token_response_stops_at_the_limit(caller: str) -> None:
    sent: list[int] = []
    total = 100_000_000
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server)
        server.routes["/oauth/token"] = lambda seen: endless_chunks(sent, total)
        with pytest.raises(TokenEndpointError, match="too large"):
            CALLERS[caller](issuer)
    assert sent and sent[0] < total // 4  # the client hung up long before the end


ODD_EXPIRIES = ["-100", "0", '"3600"', "1000000000000", "1e999", "1" + "0" * 400, "true",
                "3600.5e300", "null", '{"seconds": 3600}']


@pytest.mark.parametrize("expires_in", ODD_EXPIRIES)
def test_an_odd_expires_in_gives_a_short_lived_token(expires_in: str) -> None:
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server, expires_in=expires_in)
        session = session_for(issuer)
        token = session.get_token()
        again = session.get_token()
    assert token.expires_at is not None and math.isfinite(token.expires_at)
    assert time.time() - 5 < token.expires_at <= time.time() + 60
    assert again.access_token != token.access_token  # never reused as if it were eternal


def test_a_sane_expires_in_is_kept() -> None:
    with LoopbackServer() as server:
        session = session_for(LoopbackIssuer(server, expires_in=3600))
        token = session.get_token()
        assert session.get_token() is token
    assert token.expires_at is not None
    assert abs(token.expires_at - (time.time() + 3600)) < 30


@pytest.mark.parametrize("stored", [float("inf"), float("nan"), 1e300, -1e300, 10**400, "soon"])
def test_a_stored_expiry_that_makes_no_sense_counts_as_expired(stored: object) -> None:
    data = {"access_token": "a", "issuer": "https://auth.example.test", "client_id": "svc",
            "scopes": ["api"], "expires_at": stored}
    token = Token.from_dict(data)
    assert token.expires_at is not None and math.isfinite(token.expires_at)
    assert not token.is_valid(time.time(), 0)


@pytest.mark.parametrize(
    ("expires_in", "interval"),
    [("1" + "0" * 400, "5"), ("600", "1" + "0" * 400), ("600", "1e308"), ("1e999", "-1"),
     ('"600"', '"5"'), ("600", "0.000001")],
)
def test_odd_device_flow_numbers_neither_crash_nor_hang(expires_in: str, interval: str) -> None:
    from scopegate.client import DeviceCodeProvider
    from scopegate.client._device import DevicePrompt
    from scopegate.client._exceptions import DeviceFlowError

    from .loopback import raw_json

    sleeps: list[float] = []
    shown: list[DevicePrompt] = []

    class Display:
        def show(self, prompt: DevicePrompt) -> None:
            shown.append(prompt)

        def update(self, remaining: float, interval: float) -> None:
            return None

        def close(self) -> None:
            return None

    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server)
        server.routes["/.well-known/oauth-authorization-server"] = lambda seen: httpx.Response(
            200, json={"issuer": issuer.url,
                       "device_authorization_endpoint": issuer.url + "/device",
                       "token_endpoint": issuer.url + "/oauth/token"})
        server.routes["/device"] = lambda seen: raw_json(
            '{"device_code": "d", "user_code": "U", "verification_uri": "https://x/device", '
            f'"expires_in": {expires_in}, "interval": {interval}}}')
        server.routes["/oauth/token"] = lambda seen: httpx.Response(
            400, json={"error": "authorization_pending"})
        clock = [0.0]

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock[0] += seconds

        provider = DeviceCodeProvider(issuer.url, "cli", display=Display(),
                                      monotonic=lambda: clock[0])
        session = TokenSession(provider, interactive=True)
        with pytest.raises(DeviceFlowError, match="expired"):
            session.get_token(sleep=sleep)
    (prompt,) = shown
    assert 0 < prompt.expires_in <= 1800
    assert 1 <= prompt.interval <= 60
    assert all(1 <= s <= 120 for s in sleeps)


@pytest.mark.parametrize("caller", ["aget_token"])
def test_trickled_headers_cannot_stretch_the_deadline_of_the_async_driver(caller: str) -> None:
    from .loopback import trickle_head

    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server)
        server.routes["/oauth/token"] = lambda seen: trickle_head(server, every=0.05)
        start = time.monotonic()
        with pytest.raises(httpx.TimeoutException, match="deadline"):
            CALLERS[caller](issuer)
        assert time.monotonic() - start < 4 * TIMEOUT
