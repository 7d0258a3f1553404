"""The official MCP Python SDK client, given only an MCP server's URL, against the real stack.

A real ``scopegate serve`` (SQLite) and ``python -m examples.mcp_server`` run as child
processes; the SDK's ``OAuthClientProvider`` discovers the authorization server from the
server's 401 (RFC 9728), registers itself (RFC 7591), signs the user in through the real
pages in headless Chromium, lists the tools, calls ``list_apps``, is refused ``run_app``
with 403 ``insufficient_scope``, steps up once and runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2  # the MCP SDK's HTTP client
import jwt
import pytest
from _servers import CHROMIUM_ARGS, User, _admin
from interactive_server import LoopbackListener
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from scopegate.cli._local_stack import (
    LocalService,
    find_example_api,
    free_port,
    start_auth_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@dataclass
class McpWorld:
    """The running authorization server and MCP server, and the person who signs in."""

    issuer: str
    mcp_url: str
    user: User
    services: list[LocalService] = field(default_factory=list)


def _start_mcp_server(issuer: str, port: int, workdir: Path) -> LocalService:
    """``python -m examples.mcp_server`` on ``port``, trusting ``issuer``."""
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SCOPEGATE_ISSUER": issuer, "SCOPEGATE_AUDIENCE": f"{url}/mcp",
           "SCOPEGATE_EXAMPLE_PORT": str(port)}
    log_path = workdir / "mcp-server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "examples.mcp_server"],
                                   cwd=find_example_api(), env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    service = LocalService("MCP example server", url, process, log_path)
    try:
        service.wait_ready("/health")
    except BaseException:
        service.stop()
        raise
    return service


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[McpWorld]:
    """An operator's set-up: one user, the MCP server registered as a resource."""
    workdir = tmp_path_factory.mktemp("e2e-mcp")
    db_url = f"sqlite:///{workdir / 'scopegate.db'}"
    password = "ada correct horse battery"
    made = _admin(db_url, "users", "create", "--email", "ada@example.org", "--password-stdin",
                  "--name", "Ada", stdin=password + "\n")
    port = free_port()
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    _admin(db_url, "resources", "add", mcp_url, "--name", "Example MCP server",
           "--scope", "apps:read", "--scope", "apps:run")
    world = McpWorld("", mcp_url, User(made["email"], password, made["id"]))
    try:
        auth = start_auth_server(db_url, workdir)
        world.services.append(auth)
        world.issuer = auth.url
        world.services.append(_start_mcp_server(auth.url, port, workdir))
        yield world
    finally:
        for service in reversed(world.services):
            service.stop()


class MemoryStorage:
    """The SDK's ``TokenStorage``: what a real client keeps between runs, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Person:
    """Chromium as the user: signs in when asked, reads the consent page, presses Allow.

    The SDK's ``redirect_handler`` and ``callback_handler``; records what it saw.
    """

    def __init__(self, page: Any, world: McpWorld, listener: LoopbackListener) -> None:
        self.page = page
        self.world = world
        self.listener = listener
        self.opened: list[str] = []
        self.consents: list[list[str]] = []
        self.logins = 0

    def asked_scopes(self, index: int) -> set[str]:
        """The ``scope`` of the ``index``-th authorization request."""
        return set(parse_qs(urlsplit(self.opened[index]).query)["scope"][0].split())

    async def open(self, url: str) -> None:
        self.opened.append(url)
        await self.page.goto(url)
        if self.page.url.startswith(self.world.issuer + "/login"):
            await self.page.get_by_label("Email").fill(self.world.user.email)
            await self.page.get_by_label("Password").fill(self.world.user.password)
            await self.page.get_by_role("button", name="Sign in").click()
            await self.page.wait_for_load_state()
            self.logins += 1
        if self.page.url.startswith(self.world.issuer + "/oauth/authorize"):
            self.consents.append(await self.page.locator("ul.scopes li").all_inner_texts())
            await self.page.get_by_role("button", name="Allow").click()
        await self.page.wait_for_url(f"{self.listener.redirect_uri}?*")

    async def callback(self) -> AuthorizationCodeResult:
        callbacks = [r for r in self.listener.requests if r.startswith("/callback?")]
        query = parse_qs(urlsplit(callbacks[-1]).query)
        assert "code" in query, f"the server refused {self.opened[-1]}: {query}"
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0],
                                       iss=query.get("iss", [None])[0])


@dataclass
class Seen:
    """Every HTTP answer the SDK received, in order: (method, url, status, WWW-Authenticate)."""

    answers: list[tuple[str, str, int, str]] = field(default_factory=list)

    async def record(self, response: httpx2.Response) -> None:
        request = response.request
        self.answers.append((request.method, str(request.url).split("?")[0],
                             response.status_code, response.headers.get("www-authenticate", "")))

    def statuses(self, url: str) -> list[int]:
        return [status for _, seen, status, _ in self.answers if seen == url]


async def _use_the_mcp_server(world: McpWorld, page: Any, person: Person, seen: Seen,
                              storage: MemoryStorage) -> dict[str, Any]:
    """What an agent does: connect with only the URL, list tools, call both tools."""
    metadata = OAuthClientMetadata(
        client_name="scopegate MCP end-to-end", redirect_uris=[person.listener.redirect_uri],
        grant_types=["authorization_code", "refresh_token"], response_types=["code"],
        token_endpoint_auth_method="none")
    provider = OAuthClientProvider(world.mcp_url, metadata, storage,
                                   redirect_handler=person.open, callback_handler=person.callback)
    http = httpx2.AsyncClient(auth=provider, timeout=60, event_hooks={"response": [seen.record]})
    async with http, Client(streamable_http_client(world.mcp_url, http_client=http)) as client:
        tools = await client.list_tools()
        listed = await client.call_tool("list_apps", {})
        ran = await client.call_tool("run_app", {"app": "hello"})
    return {"tools": sorted(t.name for t in tools.tools),
            "listed": listed.structured_content, "ran": ran.structured_content,
            "ran_error": ran.is_error}


async def _drive(world: McpWorld, chromium_path: str, seen: Seen,
                 storage: MemoryStorage) -> tuple[dict[str, Any], Person]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context()).new_page()
            with LoopbackListener() as listener:
                person = Person(page, world, listener)
                outcome = await _use_the_mcp_server(world, page, person, seen, storage)
        finally:
            await browser.close()
    return outcome, person


def test_mcp_sdk_discovers_registers_signs_in_and_steps_up_once(
        world: McpWorld, chromium_path: str) -> None:
    seen, storage = Seen(), MemoryStorage()
    outcome, person = asyncio.run(_drive(world, chromium_path, seen, storage))

    assert outcome["tools"] == ["list_apps", "run_app"]
    assert outcome["listed"]["caller"] == world.user.id
    assert [app["id"] for app in outcome["listed"]["apps"]] == ["hello", "report"]
    assert not outcome["ran_error"]
    assert outcome["ran"] == {"app": "hello", "ran_as": world.user.id, "status": "done"}

    # Found its way alone: 401 -> RFC 9728 metadata -> RFC 8414 metadata -> registration.
    first_method, first_url, first_status, challenge = seen.answers[0]
    assert (first_method, first_url, first_status) == ("POST", world.mcp_url, 401)
    assert 'resource_metadata="' in challenge and 'scope="apps:read"' in challenge
    urls = [url for _, url, _, _ in seen.answers]
    assert urls[1] == world.mcp_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    assert urls[2].startswith(world.issuer + "/.well-known/")
    assert storage.client_info is not None and storage.client_info.client_id
    assert ("POST", world.issuer + "/oauth/register", 201) in [a[:3] for a in seen.answers]

    # One sign-in; the first grant covers apps:read only, run_app draws one 403 naming
    # apps:run, and the single step-up asks for the union.
    refusals = [a for a in seen.answers if a[2] == 403]
    assert len(refusals) == 1
    assert refusals[0][1] == world.mcp_url
    assert 'error="insufficient_scope"' in refusals[0][3]
    assert 'scope="apps:run"' in refusals[0][3] and "resource_metadata=" in refusals[0][3]
    assert len(person.opened) == 2 and person.logins == 1
    assert "apps:read" in person.asked_scopes(0) and "apps:run" not in person.asked_scopes(0)
    assert {"apps:read", "apps:run"} <= person.asked_scopes(1)
    assert any("Run apps" in line for line in person.consents[-1])

    # The token is bound to the MCP server (RFC 8707) and carries what the step-up asked.
    assert storage.tokens is not None
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["aud"] == world.mcp_url or world.mcp_url in claims["aud"]
    assert {"apps:read", "apps:run"} <= set(claims["scope"].split())


def test_the_mcp_url_alone_leads_to_the_authorization_server(world: McpWorld) -> None:
    """What a client learns before any token: the challenge, then the RFC 9728 document."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    answer = httpx.post(world.mcp_url, content=json.dumps(call),
                        headers={"Content-Type": "application/json",
                                 "Accept": "application/json, text/event-stream"})
    assert answer.status_code == 401
    challenge = answer.headers["www-authenticate"]
    where = challenge.split('resource_metadata="')[1].split('"')[0]
    document = httpx.get(where).json()
    assert document["resource"] == world.mcp_url
    assert document["authorization_servers"] == [world.issuer]
    assert "apps:read" in document["scopes_supported"]
