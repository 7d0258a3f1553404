"""The MCP example server against the auth-server stand-in: per-tool scopes, the MCP way.

Raw JSON-RPC over HTTP, as any MCP client sends it; the browser end-to-end run with the
official SDK client is ``tests/e2e/test_mcp.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from examples.mcp_server import MAX_BODY_BYTES, build_app, called_tools

from .authserver import AuthServer
from .conftest import CountingLimiter, MakeGuard

pytestmark = pytest.mark.anyio

MCP_HEADERS = {"Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}


@pytest.fixture
async def http(make_guard: MakeGuard) -> AsyncIterator[httpx.AsyncClient]:
    """The example app with its MCP session manager running (its lifespan)."""
    app = build_app(make_guard())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # The SDK's DNS-rebinding check wants a loopback Host with a port.
        async with httpx.AsyncClient(transport=transport,
                                     base_url="http://127.0.0.1:8001") as client:
            yield client


def call(method: str, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def result(response: httpx.Response) -> Any:
    """The JSON-RPC result of an answer sent as one server-sent event."""
    data = next(line for line in response.text.splitlines() if line.startswith("data: "))
    return json.loads(data.removeprefix("data: "))["result"]


async def post(http: httpx.AsyncClient, token: str | None, body: Any) -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post("/mcp", content=json.dumps(body), headers=headers)


async def test_a_reader_lists_tools_and_apps_but_run_app_asks_for_apps_run(
        http: httpx.AsyncClient, server: AuthServer) -> None:
    reader = server.mint(scope="apps:read", sub="alice")
    tools = await post(http, reader, call("tools/list"))
    listed = await post(http, reader, call("tools/call", name="list_apps", arguments={}))
    refused = await post(http, reader, call("tools/call", name="run_app",
                                            arguments={"app": "hello"}))
    assert [t["name"] for t in result(tools)["tools"]] == ["list_apps", "run_app"]
    assert result(listed)["structuredContent"]["caller"] == "alice"
    assert refused.status_code == 403
    assert refused.json() == {"error": "insufficient_scope",
                              "error_description": "requires scope: apps:run",
                              "scope": "apps:run"}
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge
    assert 'scope="apps:run"' in challenge


async def test_a_runner_runs_an_app_as_itself(http: httpx.AsyncClient, server: AuthServer,
                                              limiter: CountingLimiter) -> None:
    runner = server.mint(scope="apps:run", sub="bob")  # apps:run implies apps:read
    ran = await post(http, runner, call("tools/call", name="run_app",
                                        arguments={"app": "hello", "user": "mallory"}))
    assert ran.status_code == 200
    assert result(ran)["structuredContent"] == {"app": "hello", "ran_as": "bob",
                                                "status": "done"}
    assert limiter.token_hits() == 1  # the per-tool check adds no second authentication


async def test_a_batch_needs_the_scopes_of_every_tool_it_calls(
        http: httpx.AsyncClient, server: AuthServer) -> None:
    reader = server.mint(scope="apps:read")
    batch = [call("tools/call", name="list_apps", arguments={}),
             call("tools/call", name="run_app", arguments={"app": "hello"})]
    refused = await post(http, reader, batch)
    # Like every guard refusal, the challenge names all the scopes the request needs.
    assert refused.status_code == 403 and refused.json()["scope"] == "apps:read apps:run"


async def test_no_token_or_a_huge_body_never_reaches_a_tool(
        http: httpx.AsyncClient, server: AuthServer) -> None:
    anonymous = await post(http, None, call("tools/call", name="list_apps", arguments={}))
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    huge = call("tools/call", name="run_app", arguments={"app": "x" * MAX_BODY_BYTES})
    too_big = await post(http, server.mint(scope="apps:read"), huge)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == -32600
    garbled = await http.post("/mcp", content=b"{not json", headers={
        **MCP_HEADERS, "Authorization": f"Bearer {server.mint(scope='apps:read')}"})
    assert garbled.status_code == 400 and garbled.json()["error"]["code"] == -32700


async def test_health_is_public(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health")).json() == {"status": "ok"}


@pytest.mark.parametrize(("body", "names"), [
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_app"}}',
     ["run_app"]),
    (b'[{"method":"tools/call","params":{"name":"a"}},{"method":"tools/list"}]', ["a"]),
    (b'{"method":"tools/call","params":"run_app"}', [""]),
    (b'{"method":"tools/list"}', []),
    (b"not json", None),
    (b"\xff\xfe", None),
    # Duplicate keys: the last one counts, as in the MCP SDK's own parsers.
    (b'{"method":"tools/call","params":{"name":"list_apps","name":"run_app"}}', ["run_app"]),
])
def test_called_tools_reads_what_a_body_calls(body: bytes, names: list[str] | None) -> None:
    assert called_tools(body) == names
