"""Delegation with RFC 8693 token exchange, end to end on real processes.

The admin CLI registers a user, the app they sign in with, a downstream "reports" API (a
registered resource) and the front API's client (its resource server, given the
token-exchange grant). ``scopegate serve`` and two copies of the example API run: the
front one (audience ``api.scopegate.example``, delegating to reports) and the reports one
(audience ``reports.scopegate.example``). The user signs in on the real pages and calls
the front API, which calls reports with a token exchanged for the user's: reports sees
the user as the caller and the front API as ``act``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from _servers import API_AUDIENCE, _admin, _scope_args

from scopegate.cli._local_stack import LocalService, start_auth_server, start_example_api
from scopegate.errors import InsufficientScope, InvalidToken
from scopegate.guard import ExchangeFailed, Guard, GuardConfig, TokenExchanger
from scopegate.ratelimit import MemoryRateLimiter

REPORTS = "https://reports.scopegate.example"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PASSWORD = "ada correct horse battery"
REDIRECT = "http://127.0.0.1/callback"
FRONT_SCOPES = ["api", "apps:read", "apps:run", "workspace:read"]


@dataclass
class Delegation:
    issuer: str
    front_url: str
    reports_url: str
    app_id: str
    front: tuple[str, str]
    plain: tuple[str, str]
    user_id: str


@pytest.fixture(scope="module")
def delegation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delegation]:
    workdir = tmp_path_factory.mktemp("exchange")
    db = f"sqlite:///{workdir / 'scopegate.db'}"
    user = _admin(db, "users", "create", "--email", "ada@example.org", "--password-stdin",
                  stdin=PASSWORD + "\n")
    app = _admin(db, "clients", "create", "--name", "ada's app", "--public",
                 "--grant", "authorization_code", "--redirect-uri", REDIRECT,
                 *_scope_args(["openid", "api", "apps:read", "apps:run"]))
    _admin(db, "resources", "add", REPORTS, "--scope", "apps:read", "--scope",
           "workspace:read", "--name", "reports")
    front = _admin(db, "clients", "create", "--name", "front API", "--grant", "token-exchange",
                   "--resource-server", API_AUDIENCE, *_scope_args(FRONT_SCOPES))
    plain = _admin(db, "clients", "create", "--name", "plain API", "--resource-server",
                   API_AUDIENCE, *_scope_args(FRONT_SCOPES))
    services: list[LocalService] = []
    try:
        auth = start_auth_server(db, workdir)
        services.append(auth)
        reports = start_example_api(auth.url, workdir, extra_env={
            "SCOPEGATE_AUDIENCE": REPORTS})
        services.append(reports)
        services.append(start_example_api(auth.url, workdir, extra_env={
            "SCOPEGATE_GUARD_CLIENT_ID": front["client_id"],
            "SCOPEGATE_GUARD_CLIENT_SECRET": front["client_secret"],
            "SCOPEGATE_EXAMPLE_DOWNSTREAM_URL": reports.url,
            "SCOPEGATE_EXAMPLE_DOWNSTREAM_RESOURCE": REPORTS}))
        yield Delegation(auth.url, services[2].url, reports.url, app["client_id"],
                         (front["client_id"], front["client_secret"]),
                         (plain["client_id"], plain["client_secret"]), user["id"])
    finally:
        for running in reversed(services):
            running.stop()


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} on the page"
    return found.group(1).replace("&amp;", "&")


def sign_in_and_get_token(d: Delegation, scope: str = "api apps:read apps:run") -> str:
    """Ada signs in on the real pages, allows the app, and the app redeems the code."""
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).rstrip(b"=").decode()
    with httpx.Client(base_url=d.issuer) as browser:
        page = browser.get("/oauth/authorize", follow_redirects=True, params={
            "response_type": "code", "client_id": d.app_id, "redirect_uri": REDIRECT,
            "scope": scope, "state": "s", "code_challenge": challenge,
            "code_challenge_method": "S256", "resource": API_AUDIENCE})
        assert "/login" in str(page.url), page.text[:300]
        answer = browser.post(str(page.url), data={
            "csrf": _hidden(page.text, "csrf"), "email": "ada@example.org",
            "password": PASSWORD, "next": _hidden(page.text, "next")})
        while answer.is_redirect and not answer.headers["location"].startswith(REDIRECT):
            answer = browser.get(answer.headers["location"])
        if answer.status_code == 200:  # the consent page: press Allow
            answer = browser.post("/oauth/authorize/decision", data={
                "csrf": _hidden(answer.text, "csrf"), "request": _hidden(answer.text, "request"),
                "decision": "approve"})
        location = answer.headers["location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        token = browser.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": d.app_id})
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


def front_guard(d: Delegation, client: tuple[str, str] | None = None) -> Guard:
    """The front API's guard, as an API would build it (its client does the exchange)."""
    client_id, secret = client or d.front
    config = GuardConfig(issuer=d.issuer, audience=API_AUDIENCE, client_id=client_id,
                         client_secret=secret)
    return Guard(config, limiter=MemoryRateLimiter())


def test_the_downstream_api_sees_the_user_and_the_front_api_acting(d: Delegation) -> None:
    token = sign_in_and_get_token(d)
    answer = httpx.get(d.front_url + "/workspaces/demo/delegated/apps",
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["via"] == REPORTS and body["status"] == 200, body
    assert body["answer"]["caller"] == d.user_id
    assert body["answer"]["actor"] == d.front[0]
    # the user's own token is not for the reports API
    direct = httpx.get(d.reports_url + "/workspaces/demo/apps",
                       headers={"Authorization": f"Bearer {token}"})
    assert direct.status_code == 401


def test_the_exchanged_token_is_narrow_and_cached_until_near_expiry(d: Delegation) -> None:
    token = sign_in_and_get_token(d)

    async def run() -> None:
        guard = front_guard(d)
        try:
            first = await guard.exchange(token, resource=REPORTS, scopes=["apps:read"])
            again = await guard.exchange(token, resource=REPORTS, scopes=["apps:read"])
            assert again is first and guard.exchanger.call_count == 1
            claims = jwt.decode(first.access_token, options={"verify_signature": False})
            assert claims["act"] == {"sub": d.front[0]} and claims["sub"] == d.user_id
            assert claims["scope"] == "apps:read" and claims["aud"] == REPORTS
            # apps:run is not something reports offers: refused on the reports API too
            run_app = await guard.authenticator.http.post(
                d.reports_url + "/workspaces/demo/apps/hello/run", json={},
                headers={"Authorization": first.authorization})
            assert run_app.status_code == 403
            with pytest.raises(InsufficientScope):
                await guard.exchange(token, resource=REPORTS, scopes=["apps:write"])
        finally:
            await guard.aclose()

    asyncio.run(run())


def test_a_revoked_user_token_cannot_be_exchanged(d: Delegation) -> None:
    token = sign_in_and_get_token(d)
    revoked = httpx.post(d.issuer + "/oauth/revoke", data={"token": token,
                                                           "client_id": d.app_id})
    assert revoked.status_code == 200
    answer = httpx.get(d.front_url + "/workspaces/demo/delegated/apps",
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401  # refused by the exchange: the user must sign in again

    async def run() -> None:
        guard = front_guard(d)
        try:
            with pytest.raises(InvalidToken, match="revoked"):
                await guard.exchange(token, resource=REPORTS, scopes=["apps:read"])
        finally:
            await guard.aclose()

    asyncio.run(run())


def test_an_api_without_the_grant_is_told_it_is_its_own_problem(d: Delegation) -> None:
    token = sign_in_and_get_token(d)

    async def run() -> None:
        guard = front_guard(d, d.plain)
        try:
            with pytest.raises(ExchangeFailed) as refused:
                await guard.exchange(token, resource=REPORTS, scopes=["apps:read"])
            assert refused.value.server_error == "unauthorized_client"
            assert refused.value.status_code == 502
        finally:
            await guard.aclose()

    asyncio.run(run())


def test_the_cache_is_bounded(d: Delegation) -> None:
    token = sign_in_and_get_token(d)

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            exchanger = TokenExchanger(http, token_endpoint=d.issuer + "/oauth/token",
                                       client_id=d.front[0], client_secret=d.front[1],
                                       max_entries=1)
            await exchanger.exchange(token, resource=REPORTS, scopes=["apps:read"])
            await exchanger.exchange(token, resource=REPORTS)
            assert len(exchanger) == 1
            await exchanger.exchange(token, resource=REPORTS, scopes=["apps:read"])
            assert exchanger.call_count == 3  # the first was pushed out

    asyncio.run(run())


@pytest.fixture
def d(delegation: Delegation) -> Delegation:
    return delegation
