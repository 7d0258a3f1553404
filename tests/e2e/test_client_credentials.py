"""Client credentials against the real server: the scope precedence decides what is issued.

Explicit > environments.json entry > credentials file > defaults. Each case checks the
token the server actually signed (signature verified with its JWKS), not what the SDK
asked for, and what the example API then lets it do.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from _servers import API_AUDIENCE, READ_PATH, RUN_PATH, SCOPEGATE, Stack, cli_env

from scopegate.client import ApiClient, AsyncApiClient, ScopegateRequestsAuth, session_from_env
from scopegate.client._cache import TokenCache
from scopegate.client._config import ScopeSource


def _verified_claims(stack: Stack, access_token: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(stack.metadata["jwks_uri"]).get_signing_key_from_jwt(access_token)
    claims: dict[str, Any] = jwt.decode(access_token, key.key, algorithms=["ES256", "EdDSA"],
                                        audience=API_AUDIENCE, issuer=stack.issuer)
    return claims


CASES = [
    # env, explicit scopes, expected granted scopes, the source that won
    pytest.param("svc-readonly", ["api", "apps:run"], {"api", "apps:run"},
                 ScopeSource.EXPLICIT, id="explicit-beats-environment-and-credentials"),
    pytest.param("svc-readonly", None, {"api", "apps:read"}, ScopeSource.ENVIRONMENT,
                 id="environment-beats-credentials"),
    pytest.param("svc", None, {"api", "workspace:read"}, ScopeSource.CREDENTIALS,
                 id="credentials-file"),
    pytest.param("svc-bare", None, {"api"}, ScopeSource.DEFAULT, id="defaults"),
]


@pytest.mark.parametrize(("env", "explicit", "expected", "source"), CASES)
def test_issued_scopes_follow_the_precedence(
    stack: Stack, config: Path, env: str, explicit: list[str] | None, expected: set[str],
    source: ScopeSource,
) -> None:
    session = session_from_env(env, scopes=explicit, config=config, cache=TokenCache(),
                               interactive=False)
    assert session.scope_choice.source is source
    token = session.get_token()
    claims = _verified_claims(stack, token.access_token)
    assert set(claims["scope"].split()) == expected
    assert claims["aud"] == API_AUDIENCE
    assert claims["client_id"] == stack.service_client_id
    assert token.scopes == frozenset(expected)


def test_read_only_environment_reads_but_is_never_handed_a_write_token(
    stack: Stack, config: Path
) -> None:
    session = session_from_env("svc-readonly", config=config, cache=TokenCache(),
                               interactive=False)
    with ApiClient(session, base_url=stack.api_url) as api:
        assert api.get(READ_PATH).status_code == 200
    token = session.get_token()
    assert "apps:run" not in _verified_claims(stack, token.access_token)["scope"].split()
    # That token, used as is, is refused by the write route with a readable challenge.
    refused = httpx.post(stack.api_url + RUN_PATH, json={},
                         headers={"Authorization": f"Bearer {token.access_token}"})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="apps:run"' in refused.headers["www-authenticate"]


def test_insufficient_scope_steps_a_service_up_and_retries_once(
    stack: Stack, config: Path
) -> None:
    """The 403 challenge names apps:run: one more token request, one retry, then 200."""
    session = session_from_env("svc-readonly", config=config, cache=TokenCache(),
                               interactive=False)
    sent: list[str] = []
    hooks = {"request": [lambda r: sent.append(f"{r.method} {r.url.path}")]}
    with ApiClient(session, base_url=stack.api_url, event_hooks=hooks) as api:
        assert api.get(READ_PATH).status_code == 200
        ran = api.post(RUN_PATH, json={})
    assert ran.status_code == 200 and ran.json()["ran_as"] == stack.service_client_id
    token_path = httpx.URL(stack.metadata["token_endpoint"]).path
    assert sent == ["GET /.well-known/oauth-authorization-server",  # discovery, once
                    "GET /api/v1/scopes",  # the scope catalog it advertises, once
                    f"POST {token_path}", f"GET {READ_PATH}", f"POST {RUN_PATH}",
                    f"POST {token_path}", f"POST {RUN_PATH}"]
    stepped = session.get_token(["apps:run"])
    assert set(_verified_claims(stack, stepped.access_token)["scope"].split()) == {
        "api", "apps:read", "apps:run"}
    # Reads keep using the narrower token: the configured ceiling still holds for them.
    assert "apps:run" not in session.get_token().scopes


@pytest.mark.parametrize(("args", "expected"), [
    pytest.param(["--env", "svc-readonly"], {"api", "apps:read"}, id="environment"),
    pytest.param(["--env", "svc-readonly", "--scope", "workspace:read"], {"workspace:read"},
                 id="explicit-scope-flag"),
])
def test_cli_token_follows_the_precedence(
    stack: Stack, config: Path, args: list[str], expected: set[str]
) -> None:
    result = subprocess.run([SCOPEGATE, "token", *args, "--decode"], env=cli_env(config),
                            capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    claims = json.loads(result.stdout)
    assert set(claims["scope"].split()) == expected
    assert claims["aud"] == API_AUDIENCE and claims["iss"] == stack.issuer


def test_async_client_and_requests_adapter_step_up_the_same_way(
    stack: Stack, config: Path
) -> None:
    """The one auth flow serves httpx.AsyncClient and requests as it serves httpx.Client."""
    import asyncio

    import requests

    async def run_async() -> tuple[int, int]:
        session = session_from_env("svc-readonly", config=config, cache=TokenCache(),
                                   interactive=False)
        async with AsyncApiClient(session, base_url=stack.api_url) as api:
            return (await api.get(READ_PATH)).status_code, (
                await api.post(RUN_PATH, json={})).status_code

    assert asyncio.run(run_async()) == (200, 200)

    session = session_from_env("svc-readonly", config=config, cache=TokenCache(),
                               interactive=False)
    auth = ScopegateRequestsAuth(session)
    try:
        with requests.Session() as http:
            http.auth = auth
            assert http.get(stack.api_url + READ_PATH, timeout=10).status_code == 200
            ran = http.post(stack.api_url + RUN_PATH, json={}, timeout=10)
    finally:
        auth.close()
    assert ran.status_code == 200 and [r.status_code for r in ran.history] == [403]


def test_cli_logout_revokes_the_token_at_the_real_server(stack: Stack, config: Path) -> None:
    """RFC 7009 §2.1: the revocation is authenticated as the client, so it takes effect."""

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SCOPEGATE, *args, "--env", "svc"], env=cli_env(config),
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    def active(token: str) -> bool:
        answer = httpx.post(stack.metadata["introspection_endpoint"], data={"token": token},
                            auth=(stack.service_client_id, stack.service_client_secret))
        assert answer.status_code == 200
        return bool(answer.json()["active"])

    issued = cli("token")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert active(token)
    logout = cli("logout")
    assert logout.returncode == 0, logout.stderr
    assert "Logged out of svc (1 token(s) removed)" in logout.stderr
    assert not active(token)
