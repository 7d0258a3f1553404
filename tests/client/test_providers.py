"""Providers: PKCE on a real loopback listener, device flow polling, client credentials."""

from __future__ import annotations

import base64
import hashlib
import threading
import urllib.parse

import httpx
import pytest

from scopegate.client import (
    AuthenticationError,
    AuthorizationCodePkceProvider,
    ClientCredentialsProvider,
    DeviceCodeProvider,
    TokenEndpointError,
)
from scopegate.client._device import DevicePrompt
from scopegate.client._exceptions import DeviceFlowError, LoginTimeout
from scopegate.client._flow import drive_sync
from scopegate.client._locks import LockRegistry

from .conftest import ISSUER, FakeIssuer


class RecordingDisplay:
    def __init__(self) -> None:
        self.shown: list[DevicePrompt] = []
        self.updates: list[tuple[float, float]] = []
        self.closed = False

    def show(self, prompt: DevicePrompt) -> None:
        self.shown.append(prompt)

    def update(self, remaining: float, interval: float) -> None:
        self.updates.append((remaining, interval))

    def close(self) -> None:
        self.closed = True


class FakeTime:
    """A monotonic clock that only moves when the flow sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run_device(
    fake: FakeIssuer, clock: FakeTime, display: RecordingDisplay, **kwargs: int
) -> object:
    provider = DeviceCodeProvider(
        ISSUER, "cli-app", display=display, monotonic=clock.monotonic, **kwargs
    )
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        return drive_sync(
            provider.acquire_flow(frozenset({"api"})), http.send, LockRegistry(), sleep=clock.sleep
        )


def test_device_flow_honours_interval_and_slow_down() -> None:
    fake, clock, display = FakeIssuer(), FakeTime(), RecordingDisplay()
    fake.device_answers = ["authorization_pending", "slow_down", "authorization_pending", "ok"]
    token = run_device(fake, clock, display)
    assert clock.sleeps == [5, 5, 10, 10]  # slow_down adds 5 s to every later poll
    assert display.shown[0].user_code == "ABCD-EFGH"
    assert display.updates[-1] == (600 - 20, 10)
    assert display.closed
    assert token.scopes == {"api"}  # type: ignore[attr-defined]


def test_device_flow_gives_up_after_repeated_slow_down_with_a_clock_hint() -> None:
    fake, clock, display = FakeIssuer(), FakeTime(), RecordingDisplay()
    fake.device_answers = ["slow_down"] * 10
    with pytest.raises(DeviceFlowError, match="clock"):
        run_device(fake, clock, display, max_slow_downs=3)
    assert len(clock.sleeps) == 4
    assert display.closed


@pytest.mark.parametrize(
    ("answer", "text"), [("access_denied", "denied"), ("expired_token", "expired")]
)
def test_device_flow_denied_or_expired(answer: str, text: str) -> None:
    fake = FakeIssuer()
    fake.device_answers = ["authorization_pending", answer]
    with pytest.raises(DeviceFlowError, match=text):
        run_device(fake, FakeTime(), RecordingDisplay())


def test_device_code_expiry_is_checked_on_the_clock() -> None:
    fake = FakeIssuer()
    fake.device_answers = ["authorization_pending"] * 200
    with pytest.raises(DeviceFlowError, match="expired"):
        run_device(fake, FakeTime(), RecordingDisplay())


def browser(state_override: str | None = None, **extra: str):  # type: ignore[no-untyped-def]
    """An opener that plays the browser: follow the redirect back to the loopback."""
    seen: dict[str, str] = {}

    def open_url(url: str) -> bool:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        seen.update(query)
        answer = {"code": "the-code", "state": state_override or query["state"], **extra}

        def go() -> None:
            if state_override:  # a forged callback first, then nothing
                httpx.get(query["redirect_uri"], params=answer)
                return
            httpx.get(query["redirect_uri"], params=answer)

        threading.Thread(target=go).start()
        return True

    return open_url, seen


def test_pkce_login_over_a_real_loopback_listener() -> None:
    fake = FakeIssuer()
    seen_forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            seen_forms.append(dict(urllib.parse.parse_qsl(request.content.decode())))
        return fake(request)

    opener, query = browser()
    provider = AuthorizationCodePkceProvider(
        ISSUER, "cli-app", opener=opener, announce=lambda url: None, timeout=10
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "api email offline_access openid profile"
    assert query["redirect_uri"].startswith("http://127.0.0.1:")
    assert query["redirect_uri"].endswith("/callback")
    form = seen_forms[0]
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]
    assert (form["code"], form["redirect_uri"]) == ("the-code", query["redirect_uri"])


def test_a_known_resource_goes_into_the_authorization_and_every_token_request() -> None:
    """RFC 8707: the server binds the token's audience to the API the SDK discovered."""
    fake = FakeIssuer()
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            forms.append(dict(urllib.parse.parse_qsl(request.content.decode())))
        return fake(request)

    opener, query = browser()
    provider = AuthorizationCodePkceProvider(
        ISSUER, "cli-app", opener=opener, announce=lambda url: None, timeout=10,
        resource="https://api.example/mcp")
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        token = drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())
        drive_sync(provider.refresh_flow(token), http.send, LockRegistry())
    assert query["resource"] == "https://api.example/mcp"
    assert [form["resource"] for form in forms] == ["https://api.example/mcp"] * 2


def test_pkce_wrong_state_is_ignored_and_times_out() -> None:
    opener, _ = browser(state_override="forged")
    provider = AuthorizationCodePkceProvider(
        ISSUER, "cli-app", opener=opener, announce=lambda url: None, timeout=0.5
    )
    with (
        httpx.Client(transport=httpx.MockTransport(FakeIssuer())) as http,
        pytest.raises(LoginTimeout),
    ):
        drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())


def test_pkce_error_in_the_redirect_is_reported() -> None:
    opener, _ = browser(error="access_denied", error_description="user said no")
    provider = AuthorizationCodePkceProvider(
        ISSUER, "cli-app", opener=opener, announce=lambda url: None, timeout=10
    )
    with (
        httpx.Client(transport=httpx.MockTransport(FakeIssuer())) as http,
        pytest.raises(AuthenticationError, match=r"access_denied.*user said no"),
    ):
        drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())


def test_no_browser_prints_the_url_only() -> None:
    printed: list[str] = []
    opened: list[str] = []
    provider = AuthorizationCodePkceProvider(
        ISSUER,
        "cli-app",
        open_browser=False,
        opener=opened.append,
        announce=printed.append,
        timeout=0.2,
    )
    with (
        httpx.Client(transport=httpx.MockTransport(FakeIssuer())) as http,
        pytest.raises(LoginTimeout),
    ):
        drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())
    assert opened == []
    assert printed[0].startswith(ISSUER + "/oauth/authorize?")


def test_client_credentials_sends_basic_auth_and_default_api_scope() -> None:
    seen: list[httpx.Request] = []
    fake = FakeIssuer()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake(request)

    provider = ClientCredentialsProvider(ISSUER, "svc:1", "p@ss word")
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())
    token_request = seen[-1]
    user, password = (
        base64.b64decode(token_request.headers["authorization"].removeprefix("Basic "))
        .decode()
        .split(":")
    )
    assert urllib.parse.unquote(user) == "svc:1"
    assert urllib.parse.unquote(password) == "p@ss word"
    assert "scope=api" in token_request.content.decode()


def test_token_endpoint_errors_are_readable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/.well-known"):
            return FakeIssuer()(request)
        return httpx.Response(
            401, json={"error": "invalid_client", "error_description": "bad secret"}
        )

    provider = ClientCredentialsProvider(ISSUER, "svc", "wrong")
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        pytest.raises(TokenEndpointError, match="invalid_client \\(bad secret\\)"),
    ):
        drive_sync(provider.acquire_flow(provider.scopes), http.send, LockRegistry())
