"""Build the ASGI app: routes from one explicit list of endpoint modules, one state.

To add endpoints, write a module (in the folder of its protocol) exposing
``routes: list[BaseRoute]`` (optionally ``feature = "<Features flag>"`` and
``openapi_paths``, and ``on_startup(state)`` called once the state is loaded) and append
it to :data:`ENDPOINT_MODULES`. To add a grant, append an
instance to :data:`GRANTS`.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ..errors import NotFound, OAuthError, ServerError
from ..store import DatabaseUnavailable
from .config.settings import Features, Settings
from .console import least_privilege as console_least_privilege
from .console import overview as console_overview
from .console import reports as usage_reports
from .console import rollout as console_rollout
from .device import endpoint as device
from .device.grant import DeviceCodeGrant
from .management import api_keys, openapi, scopes_api
from .oauth2 import authorize, introspect, metadata, par, revocation_feed, revoke, token
from .oauth2.grants.authorization_code import AuthorizationCodeGrant
from .oauth2.grants.base import Grant
from .oauth2.grants.client_credentials import ClientCredentialsGrant
from .oauth2.grants.token_exchange import TokenExchangeGrant
from .oidc import userinfo
from .oidc.id_token import id_token_hook
from .ops import health
from .ops import metrics_endpoint as metrics
from .ops.logs import logger
from .ops.maintenance import Maintenance
from .ops.metrics import MeasuredRoute
from .ops.outage import unavailable, unavailable_page
from .pages import consent
from .pages import login as login_page
from .refresh.grant import RefreshTokenGrant
from .refresh.tokens import RefreshTokenHandler, minted_access_hook, refresh_token_hook
from .registration import endpoint as registration
from .registration import management as registration_management
from .shared.fast_lane import FastLaneStarlette
from .shared.replicas import start_watching
from .shared.responses import error_response
from .signing import jwks
from .state import ServerState

__all__ = [
    "ENDPOINT_MODULES",
    "GRANTS",
    "app_from_env",
    "collect_routes",
    "create_app",
    "mounted_modules",
]

ENDPOINT_MODULES: list[ModuleType] = [
    token,  # first: routes match in order and the token endpoint is the hot path
    metadata,
    jwks,
    introspect,
    revoke,
    revocation_feed,
    usage_reports,
    scopes_api,
    openapi,
    metrics,
    health,
    api_keys,
    login_page,
    authorize,
    par,
    consent,
    device,
    userinfo,
    registration,
    registration_management,
    console_overview,
    console_rollout,
    console_least_privilege,
]

KEY_RELOAD_SECONDS = 60.0

# Pages a person sees: while the database is unreachable they get a rendered 503 page.
PAGE_PATHS = frozenset({login_page.LOGIN_PATH, login_page.LOGOUT_PATH,
                        authorize.AUTHORIZE_PATH, authorize.DECISION_PATH,
                        device.VERIFICATION_PATH, console_overview.PATH,
                        console_rollout.PATH, console_least_privilege.PATH})

GRANTS: list[Grant] = [
    ClientCredentialsGrant(),
    AuthorizationCodeGrant(),
    RefreshTokenGrant(),
    DeviceCodeGrant(),
    TokenExchangeGrant(),
]


class MethodNotAllowed(OAuthError):
    """The path exists but not for this HTTP method."""

    error = "method_not_allowed"
    status_code = 405


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound("no such endpoint"))
    if exc.status_code == 405:
        response = error_response(MethodNotAllowed("method not allowed"))
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    return error_response(ServerError() if exc.status_code >= 500 else OAuthError(exc.detail))


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return error_response(exc)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # Handled here (not by the catch-all, which re-raises): no traceback per request.
    if request.url.path in PAGE_PATHS:
        return unavailable_page()
    return error_response(unavailable())


async def _unhandled(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", extra={"path": request.url.path})
    return error_response(ServerError())


def mounted_modules(features: Features) -> list[ModuleType]:
    """The endpoint modules whose feature is on (a module without ``feature`` always is)."""
    return [m for m in ENDPOINT_MODULES
            if getattr(features, getattr(m, "feature", ""), True)]


def collect_routes(modules: list[ModuleType]) -> list[BaseRoute]:
    """Concatenate the ``routes`` of each endpoint module, in order."""
    out: list[BaseRoute] = []
    for module in modules:
        out.extend(module.routes)
    for route in out:  # measured in one place; module-level routes are wrapped once
        if isinstance(route, Route) and not isinstance(route.app, MeasuredRoute):
            route.app = MeasuredRoute(route.app, route.name)
    return out


def _register_interactive_hooks(state: ServerState) -> None:
    """The refresh-token and ID-token response hooks and refresh-token introspection."""
    state.issuer.response_hooks.extend((minted_access_hook, refresh_token_hook(state),
                                        id_token_hook(state)))
    state.token_handlers.append(RefreshTokenHandler())


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the authorization server; its lifespan loads keys, catalog and secrets.

    :param settings: the configuration (``Settings.from_env()`` when None).
    """
    config = settings if settings is not None else Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = await run_in_threadpool(ServerState.load, config, GRANTS)
        _register_interactive_hooks(state)
        for module in mounted_modules(config.features):
            startup = getattr(module, "on_startup", None)
            if startup is not None:
                startup(state)
        openapi.render(state, mounted_modules(config.features))
        app.state.server = state
        # One periodic pass: reload keys, prune expired rows (server/ops/maintenance.py).
        maintenance = Maintenance(state, KEY_RELOAD_SECONDS)
        state.maintenance = maintenance
        periodic = asyncio.create_task(maintenance.run_forever())
        watcher = start_watching(state)  # revocations and changes from every replica
        # Startup objects live forever: keep them out of GC scans (shorter tail latency).
        gc.collect()
        gc.freeze()
        logger.info("scopegate server ready", extra={"issuer": config.issuer,
                                                     "catalog": state.catalog.source})
        try:
            yield
        finally:
            periodic.cancel()
            await watcher.stop()
            for close in state.on_shutdown:
                await close()
            state.db.dispose()
            state.metrics.process_ended()

    return FastLaneStarlette(
        routes=collect_routes(mounted_modules(config.features)),
        # POST /oauth/token skips Starlette's stack (see fast_lane.py), measured all the same
        lanes={key: MeasuredRoute(lane, "token") for key, lane in token.lanes.items()},
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _http_error,
            OAuthError: _oauth_error,
            DatabaseUnavailable: _database_unavailable,
            Exception: _unhandled,
        },
    )


def app_from_env() -> ASGIApp:
    """The uvicorn factory used by ``scopegate serve`` (settings from ``SCOPEGATE_*``)."""
    from .ops.access_log import AccessLog
    from .ops.logs import configure_logging

    configure_logging()
    settings = Settings.from_env()
    app = create_app(settings)
    return AccessLog(app) if settings.access_log else app
