"""RFC 9728 on the client: what an API's metadata may and may not make the SDK do.

Each API here is a real loopback HTTP server that answers what a test tells it to. A
document for another resource, an issuer in clear text, or a challenge that points at a
plain-http host elsewhere is refused before any credential leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scopegate.client import AuthenticationError, ConfigError, session_from_env
from scopegate.client._resource import metadata_urls

from .loopback import LoopbackServer

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@pytest.fixture
def api() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    for name in ("SCOPEGATE_ENV", "SCOPEGATE_API_URL", "SCOPEGATE_INSECURE_HTTP"):
        monkeypatch.delenv(name, raising=False)
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"clientId": "c1", "clientSecret": "s1"}))
    credentials.chmod(0o600)
    return tmp_path


def _metadata(document: dict[str, object]) -> httpx.Response:
    return httpx.Response(200, json=document)


def _challenge(value: str) -> httpx.Response:
    return httpx.Response(401, headers={"WWW-Authenticate": value})


def test_an_issuer_in_clear_text_is_refused(api: LoopbackServer, config: Path) -> None:
    api.routes[f"{WELL_KNOWN}/mcp"] = lambda seen: _metadata({
        "resource": f"{api.url}/mcp", "authorization_servers": ["http://auth.example.com"]})
    with pytest.raises(AuthenticationError, match="clear text"):
        session_from_env(api_url=f"{api.url}/mcp", config=config)


def test_metadata_for_another_resource_is_refused(api: LoopbackServer, config: Path) -> None:
    api.routes[f"{WELL_KNOWN}/mcp"] = lambda seen: _metadata({
        "resource": f"{api.url}/other", "authorization_servers": ["https://auth.example.com"]})
    with pytest.raises(AuthenticationError, match=r"not .*/mcp.*9728"):
        session_from_env(api_url=f"{api.url}/mcp", config=config)


def test_a_resource_on_a_path_is_not_a_prefix_of_a_longer_name(api: LoopbackServer,
                                                               config: Path) -> None:
    api.routes[WELL_KNOWN] = lambda seen: _metadata({
        "resource": f"{api.url}/mc", "authorization_servers": ["https://auth.example.com"]})
    with pytest.raises(AuthenticationError, match="refusing it"):
        session_from_env(api_url=f"{api.url}/mcp", config=config)


def test_a_challenge_may_not_send_the_sdk_to_plain_http_elsewhere(api: LoopbackServer,
                                                                  config: Path) -> None:
    api.routes["/mcp"] = lambda seen: _challenge(
        'Bearer resource_metadata="http://evil.example/.well-known/oauth-protected-resource"')
    with pytest.raises(AuthenticationError, match="neither on the API's origin nor https"):
        session_from_env(api_url=f"{api.url}/mcp", config=config)
    assert api.paths() == ["/mcp"]  # nothing fetched from the address it named


def test_the_challenge_names_the_document_and_the_scopes(api: LoopbackServer,
                                                         config: Path) -> None:
    api.routes["/mcp"] = lambda seen: _challenge(
        f'Bearer realm="x", resource_metadata="{api.url}/meta/mcp", scope="apps:read"')
    api.routes["/meta/mcp"] = lambda seen: _metadata({
        "resource": f"{api.url}/mcp", "authorization_servers": [api.url],
        "scopes_supported": ["apps:read", "apps:run"]})
    session = session_from_env(api_url=f"{api.url}/mcp", config=config)
    assert session.provider.issuer == api.url
    assert session.scopes == frozenset({"apps:read"})
    assert session.provider.resource == f"{api.url}/mcp"
    # The issuer itself is asked only when a token is needed.
    assert api.paths() == ["/mcp", "/meta/mcp"]


def test_an_api_without_metadata_says_what_to_configure(api: LoopbackServer,
                                                        config: Path) -> None:
    with pytest.raises(AuthenticationError, match="configure its issuer"):
        session_from_env(api_url=f"{api.url}/mcp", config=config)
    assert api.paths() == ["/mcp", f"{WELL_KNOWN}/mcp", WELL_KNOWN]


def test_a_metadata_document_that_is_not_json_is_an_error(api: LoopbackServer,
                                                          config: Path) -> None:
    api.routes[WELL_KNOWN] = lambda seen: httpx.Response(200, text="<html>")
    with pytest.raises(AuthenticationError):
        session_from_env(api_url=api.url, config=config)


def test_an_api_url_in_clear_text_is_a_config_error(config: Path) -> None:
    with pytest.raises(ConfigError, match="api_url"):
        session_from_env(api_url="http://api.example.com/mcp", config=config)


def test_well_known_urls_try_the_path_first() -> None:
    assert metadata_urls("https://api.example/v1/mcp/") == [
        f"https://api.example{WELL_KNOWN}/v1/mcp", f"https://api.example{WELL_KNOWN}"]
    assert metadata_urls("https://api.example") == [f"https://api.example{WELL_KNOWN}"]
