"""CORS for the endpoints a browser app calls, and for no others.

The rule (node-oidc-provider's ``clientBasedCORS``, made the default):

- public documents (metadata, JWKS) answer any origin with ``*``;
- the other browser endpoints (token, revocation, userinfo, registration) answer only an
  origin of some registered client's redirect URI (a loopback redirect URI allows its
  host on any port, as RFC 8252 §7.3 lets its port vary); once the endpoint knows the
  client (token, revocation: :func:`client_origin`), only that client's own origins;
- ``Access-Control-Allow-Credentials`` is never sent: these endpoints take no cookies;
- pages (``/login``, ``/oauth/authorize``, ``/device``) and the management API
  (``/api/v1/``) are not wrapped, so they stay same-origin (no CORS headers at all).

A request without ``Origin`` costs one scan of the request headers and goes straight to
the endpoint. Use :func:`cors_route` for a route, or :class:`Cors` around a plain ASGI
app (the token endpoint's fast lane).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..oauth2.client_origins import owns_origin
from .context import Context

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["ALLOWED_HEADERS", "Cors", "client_origin", "cors_route"]

#: Request headers a browser app may send (``DPoP`` for sender-constrained tokens;
#: ``X-Requested-With``, which Swagger UI's Authorize button adds to its token request).
ALLOWED_HEADERS = "authorization, content-type, dpop, x-requested-with"
_EXPOSED = b"www-authenticate, dpop-nonce, retry-after"
_MAX_AGE = b"600"
#: Set in the ASGI scope by :func:`client_origin` when the client does not own the origin.
_FOREIGN = "scopegate.cors_foreign_origin"


async def client_origin(ctx: Context) -> Response | None:
    """A step after ``client_auth``: a cross-origin call from an origin that is not the
    authenticated client's own gets no CORS headers (the browser hides the answer)."""
    origin = ctx.header("origin")
    if origin is not None and ctx.client is not None and not owns_origin(ctx.client, origin):
        ctx.scope[_FOREIGN] = True
    return None


class Cors:
    """Answer CORS preflights and add CORS headers to the answers of ``app``.

    :param app: the endpoint (plain ASGI).
    :param methods: the methods the endpoint serves.
    :param public: any origin (``*``): for public documents only.
    """

    __slots__ = ("app", "methods", "public")

    def __init__(self, app: ASGIApp, methods: Sequence[str], *, public: bool = False) -> None:
        self.app = app
        self.methods = ", ".join(m for m in methods if m != "HEAD").encode()
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = None
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
                break
        if origin is None and scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        allow = await self._allow_origin(scope, origin)
        if scope["method"] == "OPTIONS":
            await self._preflight(allow, scope, receive, send)
            return
        if allow is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self._adding(allow, scope, send))

    async def _allow_origin(self, scope: Scope, origin: bytes | None) -> bytes | None:
        """What ``Access-Control-Allow-Origin`` says to this origin, or None (nothing)."""
        if origin is None:
            return None
        if self.public:
            return b"*"
        state: ServerState = scope["app"].state.server
        text = origin.decode("latin-1")
        return origin if await state.client_origins.allows(text) else None

    async def _preflight(self, allow: bytes | None, scope: Scope, receive: Receive,
                         send: Send) -> None:
        headers: dict[str, str] = {"Allow": self.methods.decode() + ", OPTIONS"}
        if allow is not None:
            headers.update({
                "Access-Control-Allow-Origin": allow.decode("latin-1"),
                "Access-Control-Allow-Methods": self.methods.decode(),
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": _MAX_AGE.decode()})
        if not self.public:
            headers["Vary"] = "Origin"
        await Response(status_code=204, headers=headers)(scope, receive, send)

    @staticmethod
    def _adding(allow: bytes, scope: Scope, send: Send) -> Send:
        extra: list[tuple[bytes, bytes]] = [(b"access-control-allow-origin", allow),
                                            (b"access-control-expose-headers", _EXPOSED)]
        if allow != b"*":
            extra.append((b"vary", b"Origin"))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and not scope.get(_FOREIGN):
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        return send_with_cors


def cors_route(path: str, endpoint: Any, *, methods: Sequence[str], name: str,
               public: bool = False) -> Route:
    """A :class:`~starlette.routing.Route` whose endpoint answers CORS (and ``OPTIONS``).

    :param endpoint: a Starlette endpoint function (``request -> response``) or an ASGI app.
    :param public: any origin (``*``); else only registered clients' origins.
    """
    app = request_response(endpoint) if inspect.isfunction(endpoint) else endpoint
    return Route(path, Cors(app, methods, public=public), methods=[*methods, "OPTIONS"],
                 name=name)
