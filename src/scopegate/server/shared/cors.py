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
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...store.repositories import ClientRecord, ClientRepository
from ..oauth2.redirect_uri import is_loopback
from .context import Context

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["ALLOWED_HEADERS", "ClientOrigins", "Cors", "client_origin", "cors_route",
           "origins_of"]

#: Request headers a browser app may send (``DPoP`` for sender-constrained tokens).
ALLOWED_HEADERS = "authorization, content-type, dpop"
_EXPOSED = b"www-authenticate, dpop-nonce, retry-after"
_MAX_AGE = b"600"
#: Set in the ASGI scope by :func:`client_origin` when the client does not own the origin.
_FOREIGN = "scopegate.cors_foreign_origin"


def _parts(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host as written in an origin, port) of an http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host, port


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` (the default port left out), or None."""
    found = _parts(url)
    if found is None:
        return None
    scheme, host, port = found
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def origins_of(redirect_uris: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The exact origins of ``redirect_uris``, and the loopback ones allowed on any port
    (as ``scheme://host``)."""
    exact: set[str] = set()
    any_port: set[str] = set()
    for uri in redirect_uris:
        found, origin = _parts(uri), _origin(uri)
        if found is None or origin is None:
            continue
        exact.add(origin)
        if is_loopback(uri):
            any_port.add(f"{found[0]}://{found[1]}")
    return frozenset(exact), frozenset(any_port)


def _allowed(origin: str, exact: frozenset[str], any_port: frozenset[str]) -> bool:
    if origin in exact:
        return True
    found = _parts(origin)
    return (found is not None and _origin(origin) == origin
            and f"{found[0]}://{found[1]}" in any_port)


class ClientOrigins:
    """The origins of every registered client's redirect URIs, read again after ``ttl``."""

    def __init__(self, repo: ClientRepository, ttl: float) -> None:
        self.repo = repo
        self.ttl = ttl
        self._origins: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self._fresh_until = 0.0

    async def allows(self, origin: str) -> bool:
        """Whether ``origin`` is an origin of some registered client."""
        now = time.monotonic()
        if now >= self._fresh_until:
            clients = await run_in_threadpool(self.repo.list)
            self._origins = origins_of(u for c in clients for u in c.redirect_uris)
            self._fresh_until = now + self.ttl
        return _allowed(origin, *self._origins)


def owns_origin(client: ClientRecord, origin: str) -> bool:
    """Whether ``origin`` is an origin of one of ``client``'s redirect URIs."""
    return _allowed(origin, *origins_of(client.redirect_uris))


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
