"""WWW-Authenticate (RFC 7235 §4.1): linear-time parsing, several challenges, both adapters."""

from __future__ import annotations

import httpx
import pytest
import requests

from scopegate.client import (
    ApiClient,
    ClientCredentialsProvider,
    ScopegateRequestsAuth,
    TokenSession,
)
from scopegate.client._challenges import insufficient_scope

from .loopback import LoopbackIssuer, LoopbackServer

BEARER = 'Bearer realm="api", error="insufficient_scope", scope="apps:write"'


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    "hostile",
    [
        "Bearer " + "a" * 60_000,
        "Bearer " + "a=" * 30_000,
        "Bearer " + 'a="' * 20_000,
        "Bearer " + ", " * 30_000,
        'Bearer error="insufficient_scope", scope="' + "x " * 30_000 + '"',
        "Bearer " + "a" * 5_000_000,
    ],
)
def test_a_huge_header_is_read_in_linear_time(hostile: str) -> None:
    assert insufficient_scope([hostile]) is None


@pytest.mark.parametrize(
    "headers",
    [
        [BEARER],
        ['Basic realm="site", ' + BEARER],
        [BEARER + ', Basic realm="site"'],
        ['Basic realm="site"', BEARER],
        ['Newauth realm="apps", type=1, title="Login to \\"apps\\"", ' + BEARER],
        ['Bearer realm="a, b", error="insufficient_scope", scope="apps:write"'],
        ['Bearer error=insufficient_scope, scope="apps:write"'],
        ['bearer ERROR="insufficient_scope" ,  Scope = "apps:write"'],
        ['DPoP abc123==, ' + BEARER],
    ],
)
def test_the_bearer_challenge_is_found_among_several(headers: list[str]) -> None:
    assert insufficient_scope(headers) == {"apps:write"}


@pytest.mark.parametrize(
    "headers",
    [
        ['Basic error="insufficient_scope", scope="apps:write"'],
        ['Basic realm="x", error="insufficient_scope"'],
        ['Bearer error="invalid_token", Basic error="insufficient_scope"'],
        ['Bearer realm="unterminated, error="insufficient_scope"'],
        [],
    ],
)
def test_parameters_of_other_schemes_do_not_count(headers: list[str]) -> None:
    assert insufficient_scope(headers) is None


@pytest.mark.timeout(30)
@pytest.mark.parametrize("adapter", ["httpx", "requests"])
@pytest.mark.parametrize(
    "challenges",
    [
        ['Basic realm="site"', BEARER],  # two headers
        ['Basic realm="site", ' + BEARER],  # two challenges in one header
    ],
    ids=["two-headers", "one-header"],
)
def test_both_adapters_step_up_on_several_challenges(adapter: str, challenges: list[str]) -> None:
    with LoopbackServer() as server:
        issuer = LoopbackIssuer(server, api_challenges=challenges)
        session = TokenSession(ClientCredentialsProvider(issuer.url, "svc", "s3cret"))
        if adapter == "httpx":
            with ApiClient(session, base_url=issuer.url, timeout=5) as client:
                status = client.get("/api/things").status_code
        else:
            with httpx.Client(timeout=5) as http, requests.Session() as s:
                s.auth = ScopegateRequestsAuth(session, http=http)
                status = s.get(issuer.url + "/api/things", timeout=5).status_code
        requested = [seen.form.get("scope") for seen in server.seen if seen.path == "/oauth/token"]
    assert status == 200
    assert requested == ["api", "api apps:write"]
