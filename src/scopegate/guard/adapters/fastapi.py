"""FastAPI: a ``Security``-style dependency that declares scopes and returns the caller.

Usage::

    guard = Guard(GuardConfig.from_env(), limiter=MemoryRateLimiter())
    install(app, guard)                      # error answers + the guard on app.state

    @app.get("/apps")
    async def list_apps(caller: Caller = Depends(RequireScopes("apps:read"))): ...

:func:`install` writes each route's scopes, and its 401/403 answers, into the OpenAPI
document under the guard's OAuth2 scheme (authorization code with PKCE in Swagger UI;
scope descriptions from the catalog), and serves the RFC 9728 metadata. When
:class:`GuardMiddleware` is also installed (deny by default), the dependency reuses the
middleware's context, so the token is authenticated and rate-limited once.

Throughput (``bench/bench_guard.py``): the middleware style, ``GuardMiddleware`` plus
``@requires`` or ``RequireScopes``, is the fast one. FastAPI spends a fixed time on every
dependency (a dependency returning a constant already costs ~15 % of a small route), and
with the Redis limiter a dependency waits while FastAPI's per-request objects are alive,
which makes the garbage collector scan the heap far more often; the middleware
authenticates before FastAPI builds them. Apps using the dependency alone under load
benefit from ``gc.freeze()`` after start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..._extras import require_extra

# Before the framework's own import: a missing FastAPI says which extra to install.
require_extra("scopegate.guard.adapters.fastapi", "fastapi", "fastapi", "starlette")

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import HTTPException
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from starlette.types import ASGIApp, Receive, Scope, Send

from scopegate.errors import OAuthError
from scopegate.scopes import Catalog

from ..callers import Caller
from ..config import RateLimit
from ..context import GuardContext
from ..declaration import DECLARATION_ATTR, Declaration
from ..guard import Guard, parse_bearer
from ..health import PROBE_METHODS
from ..pipeline import Pipeline
from ..routes import route_declaration
from ..steps import ScopeCheck
from ..user_auth import check_user_auth, user_auth_requirement
from ._asgi import CONTEXT_KEY, METADATA_METHODS, read_request, send_metadata, send_probe
from ._openapi import document_refusals

__all__ = ["GuardScheme", "RequireScopes", "install"]

STATE_ATTR = "scopegate_guard"


class GuardScheme(SecurityBase):
    """The OAuth2 security scheme shown in OpenAPI; returns the raw bearer token or None."""

    def __init__(self, issuer: str, catalog: Catalog, *, scheme_name: str = "scopegate") -> None:
        scopes = {s.name: s.description or s.name for s in catalog.public()}
        self.model = OAuth2Model(
            flows=OAuthFlowsModel(
                authorizationCode=OAuthFlowAuthorizationCode(
                    authorizationUrl=f"{issuer}/oauth/authorize",
                    tokenUrl=f"{issuer}/oauth/token",
                    scopes=scopes,
                ),
                clientCredentials=OAuthFlowClientCredentials(
                    tokenUrl=f"{issuer}/oauth/token", scopes=scopes
                ),
            ),
            description="OAuth 2 bearer token issued by scopegate",
        )
        self.scheme_name = scheme_name

    async def __call__(self, request: Request) -> str | None:
        return parse_bearer(request.headers.get("authorization"))


class RequireScopes:
    """A dependency that authorizes the request for ``scopes`` and returns the caller.

    A lean dependency on purpose: its only parameter is the ``Request`` FastAPI already
    built, so FastAPI solves no sub-dependency and parses nothing for it. The token and
    request facts are read straight from the ASGI scope, and the canonical scope set is
    computed once per guard. The OpenAPI security text is added once by :func:`install`,
    not by a ``Security``/``SecurityScopes`` dependency solved on every request.

    :param scopes: the scopes the route needs (at least one).
    :param guard: the guard; when None, the one :func:`install` put on ``app.state``.
    :param rate: a per-route budget (its own bucket) instead of the global one.
    :param pipeline: a per-route pipeline instead of the guard's default.
    :param max_age: a sign-in at most this many seconds old (RFC 9470), as in ``requires``.
    :param acr_values: the ``acr`` values accepted, as in ``requires``.
    """

    def __init__(self, *scopes: str, guard: Guard | None = None, rate: RateLimit | None = None,
                 pipeline: Pipeline | None = None, max_age: int | None = None,
                 acr_values: Iterable[str] | str = ()) -> None:
        if not scopes:
            raise ValueError("RequireScopes needs at least one scope")
        self.guard = guard
        self.declaration = Declaration(scopes=tuple(scopes), rate=rate, pipeline=pipeline,
                                       user_auth=user_auth_requirement(max_age, acr_values))
        setattr(self, DECLARATION_ATTR, self.declaration)

    async def __call__(self, request: Request) -> Caller:
        scope = request.scope
        guard = self.guard or getattr(scope["app"].state, STATE_ATTR)
        ctx: GuardContext | None = scope.get(CONTEXT_KEY)
        try:
            if ctx is None:
                return await self._authorize(guard, scope, request)
            return await self._add_scopes(guard, ctx)
        except OAuthError as refused:
            exc = guard.challenge(refused, self.declaration)
            if OAuthError in request.app.exception_handlers:
                raise
            raise HTTPException(exc.status_code, exc.body(), exc.response_headers()) from None

    async def _authorize(self, guard: Guard, scope: Scope, request: Request) -> Caller:
        """First guard of this request: authenticate (one limiter hit), check, audit."""
        route = scope.get("route")
        info, token = read_request(scope, route.path if route is not None else scope["path"],
                                   config=guard.config)
        ctx = guard.context(info, token, self.declaration, native=request)
        caller = await guard.check(ctx, self.declaration)
        scope[CONTEXT_KEY] = ctx  # later guards of this request reuse it (install() drops it)
        guard.audit(ctx, None)  # GuardMiddleware, when installed, audits with the status
        return caller

    async def _add_scopes(self, guard: Guard, ctx: GuardContext) -> Caller:
        """Authenticated already (middleware or another dependency): only add our scopes."""
        required = guard.canonical(self.declaration.scopes)
        if not required <= ctx.required:
            ctx.required = ctx.required | required
            await ScopeCheck(guard.catalog, realm=guard.config.realm)(ctx)
        need = self.declaration.user_auth
        if need is not None and ctx.auth is not None:
            check_user_auth(ctx.auth.claims, need, realm=guard.config.realm)
        if ctx.caller is None:
            raise LookupError("guard context without a caller")
        return ctx.caller


class _Edge:
    """Pure ASGI wrapper: serves the RFC 9728 metadata, and removes the guard context from
    the scope once a request ends.

    The context refers to the request (``ctx.native``) and the scope refers to the
    context, a reference cycle that only the garbage collector could free. Under load
    that kept every request's objects alive into older GC generations and made full
    collections frequent; dropping the link lets reference counting free it at once.
    """

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard
        self.metadata_paths = guard.protected_resource.paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] in self.metadata_paths
                and scope["method"] in METADATA_METHODS):
            await send_metadata(send, scope, self.guard)
            return
        if (scope["type"] == "http" and scope["path"] in self.guard.probe_paths
                and scope["method"] in PROBE_METHODS):
            await send_probe(send, scope, self.guard)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            scope.pop(CONTEXT_KEY, None)


async def _oauth_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    return JSONResponse(exc.body(), status_code=exc.status_code,
                        headers=exc.response_headers())


def install(app: FastAPI, guard: Guard, *, scheme_name: str = "scopegate",
            swagger_client_id: str | None = None) -> None:
    """Make ``guard`` the app's default guard, answer OAuth errors in their RFC shape,
    serve the RFC 9728 metadata, and document every declared route's scopes and refusals
    in OpenAPI (scheme text from the catalog).

    Call it while setting the app up (it adds a tiny ASGI wrapper, which FastAPI only
    accepts before the app starts).

    :param swagger_client_id: a public client registered with the redirect URI
        ``<API URL>/docs/oauth2-redirect``; Swagger UI's Authorize button then signs in
        with it (authorization code + PKCE, no secret).
    """
    setattr(app.state, STATE_ATTR, guard)
    app.add_exception_handler(OAuthError, _oauth_error_handler)
    app.add_middleware(_Edge, guard=guard)
    if app.swagger_ui_init_oauth is None:
        app.swagger_ui_init_oauth = {"usePkceWithAuthorizationCodeGrant": True}
        if swagger_client_id is not None:
            app.swagger_ui_init_oauth["clientId"] = swagger_client_id
    scheme = GuardScheme(guard.config.issuer, guard.catalog, scheme_name=scheme_name)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build_openapi()
        _document_security(app, schema, scheme)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_security(app: FastAPI, schema: dict[str, Any], scheme: GuardScheme) -> None:
    """Add the scheme and each route's declared scopes to an OpenAPI document.

    Done once when the document is built, instead of through a nested ``Security``
    dependency that FastAPI would solve on every request.
    """
    components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    components[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True,
                                                      exclude_none=True)
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        declaration = route_declaration(route)
        if declaration is None or declaration.public:
            continue
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                requirement = {scheme.scheme_name: list(declaration.scopes)}
                if requirement not in operation.setdefault("security", []):
                    operation["security"].append(requirement)
                document_refusals(schema, operation)


