"""Starlette (and FastAPI) middleware that denies by default every undeclared route.

Routes declare their scopes with :func:`scopegate.guard.requires` (or FastAPI's
``RequireScopes`` dependency); the few open ones say so with :func:`scopegate.guard.public`.
Any other matched route answers 403, so forgetting auth cannot ship an open endpoint.
The middleware also serves the API's RFC 9728 metadata (``/.well-known/oauth-protected-
resource``, see :mod:`scopegate.guard.protected_resource`) without a token.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scopegate.errors import AccessDenied, OAuthError

from ..declaration import Declaration
from ..guard import Guard
from ..health import PROBE_METHODS
from ..routes import framework_public_paths, route_declaration
from ._asgi import (
    CONTEXT_KEY,
    METADATA_METHODS,
    caller_of,
    context_of,
    read_request,
    send_error,
    send_metadata,
    send_probe,
)

__all__ = ["GuardMiddleware", "caller_of", "context_of"]

log = logging.getLogger("scopegate.guard")

_PUBLIC = Declaration(public=True)
_MAX_MATCH_CACHE = 4096
_Found = tuple[Declaration | None, str, dict[str, Any]]


class GuardMiddleware:
    """Pure ASGI middleware: find the route, run its pipeline, mount the caller, audit.

    :param app: the next ASGI app.
    :param guard: the shared :class:`~scopegate.guard.Guard`.
    :param public_paths: exact paths served without a token (FastAPI's docs are added).
    """

    def __init__(self, app: ASGIApp, *, guard: Guard, public_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.guard = guard
        self.public_paths = frozenset(public_paths)
        self._matches: dict[tuple[str, str], _Found | None] = {}
        self._declarations: dict[int, Declaration | None] = {}
        self._docs: frozenset[str] | None = None
        self._metadata_paths = guard.protected_resource.paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self._metadata_paths and scope["method"] in METADATA_METHODS:
            await send_metadata(send, scope, self.guard)
            return
        if scope["path"] in self.guard.probe_paths and scope["method"] in PROBE_METHODS:
            await send_probe(send, scope, self.guard)
            return
        found = self._find(scope)
        if found is None:  # no route: the router answers 404/405 itself
            await self.app(scope, receive, send)
            return
        declaration, route, path_params = found
        if declaration is not None and declaration.public:
            await self.app(scope, receive, send)
            return
        if declaration is None:
            log.error("refused %s %s: route has no scope declaration", scope["method"], route)
            await send_error(send, AccessDenied("this route declares no scopes"))
            return
        try:
            info, token = read_request(scope, route, path_params, self.guard.config)
            ctx = self.guard.context(info, token, declaration, native=scope)
            await self.guard.check(ctx, declaration)
        except OAuthError as exc:
            await send_error(send, self.guard.challenge(exc, declaration))
            return
        scope[CONTEXT_KEY] = ctx
        status: list[int] = []

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The context holds the scope (native=scope): drop the back-reference so a
            # guarded request leaves no reference cycle for the garbage collector.
            scope.pop(CONTEXT_KEY, None)
        self.guard.audit(ctx, status[0] if status else None)

    # -- route lookup -----------------------------------------------------------------

    def _find(self, scope: Scope) -> _Found | None:
        key = (scope["method"], scope["path"])
        if key in self._matches:
            return self._matches[key]
        app = scope.get("app")
        if self._docs is None:
            self._docs = self.public_paths | framework_public_paths(app)
        if scope["path"] in self._docs:
            found: _Found | None = (_PUBLIC, scope["path"], {})
        else:
            router = getattr(app, "router", app)
            found = self._match(getattr(router, "routes", ()), scope, "")
        if len(self._matches) < _MAX_MATCH_CACHE:
            self._matches[key] = found
        return found

    def _match(self, routes: Any, scope: Scope, prefix: str) -> _Found | None:
        for route in routes:
            match, child = route.matches(scope)
            if match is not Match.FULL:
                continue
            path = prefix + getattr(route, "path", "")
            params = child.get("path_params", {})
            if hasattr(route, "endpoint"):
                return self._declaration(route), path, params
            own = self._declaration(route) or self._declaration(getattr(route, "app", None))
            inner = getattr(route, "routes", None)
            if own is not None or not inner:
                return own, path, params
            return self._match(inner, {**scope, **child}, path)
        return None

    def _declaration(self, route: Any) -> Declaration | None:
        key = id(route)
        if key not in self._declarations:
            self._declarations[key] = route_declaration(route)
        return self._declarations[key]
