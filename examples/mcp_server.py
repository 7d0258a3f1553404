"""An MCP server (official ``mcp`` SDK, streamable HTTP at ``/mcp``) behind the scopegate guard.

Tools: ``list_apps`` needs ``apps:read`` and ``run_app(app)`` needs ``apps:run``. Connecting
at all needs ``apps:read`` (the route's declaration), so a client's first 401 asks for just
that; calling ``run_app`` with such a token answers the HTTP 403 ``insufficient_scope``
challenge naming ``apps:run`` (MCP authorization, "scope challenge handling"), and an MCP
client steps up and retries. The check happens before the MCP SDK sees the request, so a
tool never runs for a caller without its scopes.

Run it::

    scopegate resources add http://127.0.0.1:8001/mcp --scope apps:read --scope apps:run
    SCOPEGATE_ISSUER=http://127.0.0.1:8000 \\
    SCOPEGATE_AUDIENCE=http://127.0.0.1:8001/mcp python -m examples.mcp_server

Environment: ``SCOPEGATE_ISSUER``, ``SCOPEGATE_AUDIENCE`` (this server's resource URL: the
``aud`` its tokens must carry; default ``http://<host>:<port>/mcp``), the other guard
variables (README, Configuration), ``SCOPEGATE_EXAMPLE_HOST`` / ``SCOPEGATE_EXAMPLE_PORT``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scopegate.errors import InsufficientScope
from scopegate.guard import Declaration, Guard, GuardConfig, public, requires
from scopegate.guard.adapters.starlette import GuardMiddleware, caller_of, context_of
from scopegate.ratelimit import create_rate_limiter

__all__ = ["TOOL_SCOPES", "ToolScopes", "app", "build_app", "build_mcp", "main"]

#: What each tool needs beyond the route's ``apps:read``; the one place a tool names scopes.
TOOL_SCOPES: Mapping[str, tuple[str, ...]] = {
    "list_apps": ("apps:read",),
    "run_app": ("apps:run",),
}
#: The scopes every request to ``/mcp`` needs (connect, list tools).
CONNECT_SCOPES = ("apps:read",)
#: Larger JSON-RPC bodies are refused before parsing (the MCP SDK's own default cap is 4 MB).
MAX_BODY_BYTES = 1 << 20

APPS = {"hello": "Hello world", "report": "Weekly report"}


def called_tools(body: bytes) -> list[str] | None:
    """The tool names a JSON-RPC body calls (``tools/call``), one message or a batch.

    None when the body is not JSON: it is refused here, never handed to a parser that
    might read more into it than this one did.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    messages = parsed if isinstance(parsed, list) else [parsed]
    names = []
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            names.append(name if isinstance(name, str) else "")
    return names


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bool]:
    """Buffer the request's body messages; False when it is larger than ``limit``."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, True  # the client went away: let the app see it
        size += len(message.get("body", b""))
        if size > limit:
            return messages, False
        if not message.get("more_body", False):
            return messages, True


class ToolScopes:
    """ASGI app in front of the MCP transport: per-tool scopes, answered the MCP way.

    Runs after the guard's middleware (which checked the token and the route's scopes), reads
    the JSON-RPC body, and refuses a ``tools/call`` whose tool needs scopes the token lacks
    with 403 ``insufficient_scope`` naming them, so an MCP client steps up. The body is then
    replayed to the transport unchanged.

    :param app: the MCP streamable-HTTP ASGI app.
    :param guard: the guard (its catalog decides coverage; its challenge adds
        ``resource_metadata``).
    :param tools: tool name -> scopes it needs; a tool not listed needs only the route's.
    :param connect: the route's own scopes (what a 401 names).
    """

    def __init__(self, app: ASGIApp, *, guard: Guard, tools: Mapping[str, tuple[str, ...]],
                 connect: tuple[str, ...] = CONNECT_SCOPES) -> None:
        self.app = app
        self.guard = guard
        self.tools = dict(tools)
        self.route = Declaration(scopes=connect)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages, whole = await _read_body(receive, MAX_BODY_BYTES)
        tools = called_tools(b"".join(m.get("body", b"") for m in messages)) if whole else None
        if tools is None:
            status, code, message = ((413, -32600, f"request body over {MAX_BODY_BYTES} bytes")
                                     if not whole else (400, -32700, "request body is not JSON"))
            await JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                "code": code, "message": message}}, status_code=status)(scope, receive, send)
            return
        refusal = self._refusal(scope, tools)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)

    def _refusal(self, scope: Scope, tools: list[str]) -> JSONResponse | None:
        """The 403 for a call to a tool whose scopes the token does not cover, else None."""
        ctx = context_of(scope)
        if ctx is None:  # not behind the guard: refuse rather than run a tool unchecked
            return JSONResponse({"error": "access_denied"}, status_code=403)
        required = frozenset().union(*(
            self.guard.canonical(self.tools.get(name, ())) for name in tools))
        if not self.guard.catalog.missing(ctx.granted, required):
            return None
        # The guard's challenge adds resource_metadata (RFC 9728), as on its own refusals.
        error = self.guard.challenge(InsufficientScope(required, realm=self.guard.config.realm),
                                     self.route)
        return JSONResponse(error.body(), status_code=error.status_code,
                            headers=error.response_headers())


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out the buffered messages first, then the real ones."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def build_mcp() -> MCPServer:
    """The MCP server and its two tools (identity comes from the guard, never from input)."""
    mcp: MCPServer = MCPServer("scopegate example apps", instructions="List and run apps.",
                               log_level="WARNING")

    @mcp.tool()
    async def list_apps(ctx: Context) -> dict[str, Any]:
        """List the apps you can run."""
        caller = caller_of(ctx.request_context.request)
        return {"caller": caller.subject,
                "apps": [{"id": key, "name": name} for key, name in APPS.items()]}

    @mcp.tool()
    async def run_app(app: str, ctx: Context) -> dict[str, Any]:
        """Run one app by its id."""
        if app not in APPS:
            raise ValueError(f"no app {app!r}; list_apps names them")
        caller = caller_of(ctx.request_context.request)
        return {"app": app, "ran_as": caller.subject, "status": "done"}

    return mcp


def build_app(guard: Guard, mcp: MCPServer | None = None, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app: ``/mcp`` (``apps:read``, tools as in :data:`TOOL_SCOPES`), ``/health``."""
    mcp = mcp or build_mcp()
    # Stateless: every request carries its own token, so no MCP session is shared between
    # two tokens (or two users); the SDK's app is used only for its /mcp transport.
    sdk_app = mcp.streamable_http_app(stateless_http=True, host=host)
    transport = next(r.endpoint for r in sdk_app.routes
                     if isinstance(r, Route) and r.path == "/mcp")

    @public
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield
        await guard.aclose()

    endpoint = requires(*CONNECT_SCOPES)(ToolScopes(transport, guard=guard, tools=TOOL_SCOPES))
    return Starlette(
        routes=[Route("/health", health), Route("/mcp", endpoint, methods=["GET", "POST",
                                                                            "DELETE"])],
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        lifespan=lifespan,
    )


def _guard_from_env() -> Guard:
    host = os.environ.get("SCOPEGATE_EXAMPLE_HOST", "127.0.0.1")
    port = os.environ.get("SCOPEGATE_EXAMPLE_PORT", "8001")
    env = {"SCOPEGATE_ISSUER": "http://127.0.0.1:8000",
           "SCOPEGATE_AUDIENCE": f"http://{host}:{port}/mcp", **os.environ}
    config = GuardConfig.from_env(env)  # a bad setting stops the app here, in one line
    limiter = create_rate_limiter(config.redis_url, prefix="scopegate:mcp-example:")
    return Guard(config, limiter=limiter)


app = build_app(_guard_from_env(), host=os.environ.get("SCOPEGATE_EXAMPLE_HOST", "127.0.0.1"))


def main() -> None:
    """Serve the MCP example with uvicorn."""
    import uvicorn

    uvicorn.run(app, host=os.environ.get("SCOPEGATE_EXAMPLE_HOST", "127.0.0.1"),
                port=int(os.environ.get("SCOPEGATE_EXAMPLE_PORT", "8001")))


if __name__ == "__main__":
    main()
