"""Flask: an extension that denies by default every view without a declaration.

Usage::

    gate = ScopeGate(app, guard)

    @app.get("/apps")
    @requires("apps:read")
    def list_apps():
        return {"caller": current_caller().subject}

The guard is async (shared JWKS/introspection client and limiter); the extension runs it on
one background event loop so every Flask worker thread shares its caches and connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..._extras import require_extra

# Before the framework's own import: a missing Flask says which extra to install.
require_extra("scopegate.guard.adapters.flask", "flask", "flask")

from flask import Flask, Response, current_app, g, request

from scopegate.errors import AccessDenied, OAuthError

from ..callers import Caller
from ..context import GuardContext, RequestInfo
from ..declaration import Declaration, declaration_of
from ..dpop import make_presentation, parse_dpop
from ..errors import DuplicateAuthorization
from ..guard import Guard, parse_bearer
from ..health import PROBE_HEADERS, PROBE_METHODS, probe_answer
from ..protected_resource import METADATA_HEADERS, PREFLIGHT_HEADERS
from ..routes import list_routes

__all__ = ["ScopeGate", "current_caller", "current_context"]

log = logging.getLogger("scopegate.guard")
T = TypeVar("T")
_G_KEY = "scopegate_context"


class _LoopThread:
    """One daemon thread running an event loop that owns the guard's async resources."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="scopegate-guard",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class ScopeGate:
    """The Flask extension: ``before_request`` authorizes, ``after_request`` audits.

    :param app: the Flask app (or call :meth:`init_app` later).
    :param guard: the shared :class:`~scopegate.guard.Guard`.
    :param public_endpoints: endpoint names served without a token (``static`` always is).
    """

    def __init__(self, app: Flask | None = None, guard: Guard | None = None, *,
                 public_endpoints: tuple[str, ...] = ()) -> None:
        self.guard = guard
        self.public_endpoints = frozenset({"static", *public_endpoints})
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the hooks on ``app``."""
        app.extensions["scopegate"] = self
        app.before_request(self._before)
        app.after_request(self._after)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the guard's loop (for app code that needs the async guard)."""
        if self._loop is None:
            with self._lock:
                if self._loop is None:
                    self._loop = _LoopThread()
        timeout = 3 * (self.guard.config.http_timeout_s if self.guard else 5.0)
        return self._loop.run(coro, timeout)

    def close(self) -> None:
        """Close the guard and stop the background loop."""
        if self._loop is not None:
            if self.guard is not None:
                self.run(self.guard.aclose())
            self._loop.stop()
            self._loop = None

    def _before(self) -> Response | None:
        if (self.guard is not None and request.path in self.guard.protected_resource.paths
                and request.method in ("GET", "HEAD", "OPTIONS")):
            return self._metadata()
        if (self.guard is not None and request.path in self.guard.probe_paths
                and request.method in PROBE_METHODS):
            status, body = self.run(probe_answer(
                self.guard.readiness, self.guard.probe_paths, request.path))
            return Response(body, status=status, headers=PROBE_HEADERS)
        endpoint = request.endpoint
        if endpoint is None or endpoint in self.public_endpoints:
            return None  # no route (Flask answers 404/405) or a public endpoint
        declaration = declaration_of(current_app.view_functions.get(endpoint))
        if declaration is not None and declaration.public:
            return None
        if declaration is None or self.guard is None:
            log.error("refused %s %s: route has no scope declaration", request.method, endpoint)
            return _answer(AccessDenied("this route declares no scopes"))
        return self._authorize(declaration)

    def _authorize(self, declaration: Declaration) -> Response | None:
        assert self.guard is not None
        info = RequestInfo(
            method=request.method,
            path=request.path,
            route=request.url_rule.rule if request.url_rule else request.path,
            client_ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent"),
            path_params=dict(request.view_args or {}),
        )
        authorization = request.headers.get("Authorization")
        if authorization is not None and "," in authorization:
            # WSGI servers join repeated headers with ", "; no bearer token holds a comma.
            return _answer(DuplicateAuthorization())
        try:
            token, info.dpop = self._credentials(authorization)
            ctx = self.guard.context(info, token, declaration, native=request)
            self.run(self.guard.check(ctx, declaration))
        except OAuthError as exc:
            return _answer(self.guard.challenge(exc, declaration))
        setattr(g, _G_KEY, ctx)
        return None

    def _credentials(self, authorization: str | None) -> tuple[str | None, Any]:
        """The token, and how it was presented when DPoP is involved (RFC 9449); repeated
        ``DPoP`` headers arrive joined with ", " (no proof holds a comma)."""
        assert self.guard is not None
        token, proof = parse_bearer(authorization), request.headers.get("DPoP")
        dpop_token = parse_dpop(authorization) if token is None else None
        if dpop_token is None and proof is None:
            return token, None
        proofs = [p.strip() for p in proof.split(",")] if proof is not None else []
        shown = make_presentation("dpop" if dpop_token else "bearer", proofs, request.method,
                                  request.host_url.rstrip("/"),
                                  request.script_root + request.path, self.guard.config)
        return token or dpop_token, shown

    def _metadata(self) -> Response:
        """The RFC 9728 document (GET, HEAD), or a browser's CORS preflight (OPTIONS)."""
        assert self.guard is not None
        if request.method == "OPTIONS":
            return Response(status=204, headers=PREFLIGHT_HEADERS)
        body = self.guard.protected_resource.body(list_routes(current_app))
        return Response(body, headers=METADATA_HEADERS)

    def _after(self, response: Response) -> Response:
        ctx = g.get(_G_KEY)
        if isinstance(ctx, GuardContext) and self.guard is not None:
            self.guard.audit(ctx, response.status_code)
        return response


def _answer(exc: OAuthError) -> Response:
    response = Response(
        response=json.dumps(exc.body()),
        status=exc.status_code,
        mimetype="application/json",
    )
    for key, value in exc.response_headers().items():
        response.headers[key] = value
    return response


def current_context() -> GuardContext:
    """The guard context of the current Flask request."""
    ctx = g.get(_G_KEY)
    if not isinstance(ctx, GuardContext):
        raise LookupError("this request was not authorized by the scopegate guard")
    return ctx


def current_caller() -> Caller:
    """The caller the guard mounted for the current Flask request."""
    caller = current_context().caller
    if caller is None:
        raise LookupError("no caller mounted")
    return caller
