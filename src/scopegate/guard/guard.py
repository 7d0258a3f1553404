"""The Guard: an authenticator, a catalog and a default pipeline that adapters share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from scopegate.errors import InvalidToken, OAuthError
from scopegate.ratelimit import RateLimiter
from scopegate.scopes import Catalog, default_catalog
from scopegate.tokens import parse_bearer  # the one RFC 6750 reader; adapters import it here

from . import metrics
from .audit import emit_audit
from .authenticate import Authenticator
from .callers import Caller
from .config import GuardConfig
from .context import AuthContext, GuardContext, RequestInfo
from .declaration import Declaration
from .exchange import ExchangedToken, TokenExchanger
from .health import HEALTH_PATH, READY_PATH, GuardReadiness
from .pipeline import Pipeline
from .protected_resource import ProtectedResource
from .steps import (
    BearerCheck,
    CallerMount,
    ResourceAuthz,
    ResourceResolver,
    ScopeCheck,
    WorkspaceMembershipCheck,
    default_caller,
)
from .steps.authz import Authorize
from .steps.membership import IsMember
from .steps.resolver import Resolve
from .usage import usage_reporter_for
from .user_auth import check_user_auth

__all__ = ["Guard", "parse_bearer"]


class Guard:
    """Everything a resource server needs to protect its routes.

    :param config: the guard settings (issuer, audience and mode, limits, caches).
    :param limiter: the per-token limiter (``scopegate.ratelimit``: memory or Redis).
    :param catalog: the scope catalog (the bundled default when None).
    :param http: the async client for JWKS and introspection.
    :param resolve: optional resource resolver ``(ctx) -> resource | None``.
    :param is_member: optional membership test ``(auth, workspace) -> bool``.
    :param authorize: optional per-resource check ``(ctx) -> bool``.
    :param mount: maps an auth context to a typed caller.
    :param authenticator: a ready authenticator (then ``limiter``/``http`` are unused).
    """

    def __init__(
        self,
        config: GuardConfig,
        *,
        limiter: RateLimiter | None = None,
        catalog: Catalog | None = None,
        http: httpx.AsyncClient | None = None,
        resolve: Resolve | None = None,
        is_member: IsMember | None = None,
        authorize: Authorize | None = None,
        mount: Callable[[AuthContext], Caller] = default_caller,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog or default_catalog()
        if authenticator is None:
            if limiter is None:
                raise ValueError("Guard needs a limiter (scopegate.ratelimit) or an authenticator")
            authenticator = Authenticator(config, catalog=self.catalog, limiter=limiter,
                                          http=http)
        self.authenticator = authenticator
        steps: list[Any] = [BearerCheck(authenticator),
                            ScopeCheck(self.catalog, realm=config.realm)]
        if resolve is not None:
            steps.append(ResourceResolver(resolve))
        if is_member is not None:
            steps.append(WorkspaceMembershipCheck(is_member))
        if authorize is not None:
            steps.append(ResourceAuthz(authorize))
        steps.append(CallerMount(mount))
        self.pipeline = Pipeline(steps)
        self.protected_resource = ProtectedResource(config, self.catalog)
        #: (liveness, readiness) paths every adapter answers without a token (health.py).
        self.probe_paths: tuple[str, str] = (HEALTH_PATH, READY_PATH)
        self.readiness = GuardReadiness(authenticator.jwks, config.redis_url)
        self._required: dict[tuple[str, ...], frozenset[str]] = {}
        self._exchanger: TokenExchanger | None = None
        #: counts for the server's console (``usage_report_s``), or None
        self.usage = usage_reporter_for(config, authenticator)

    def canonical(self, scopes: tuple[str, ...]) -> frozenset[str]:
        """Canonical names of a declaration's scopes (unknown names kept, so they never match).

        ``scopegate routes check`` is what flags unknown names; at runtime they simply
        make the route unreachable instead of crashing it.
        """
        found = self._required.get(scopes)
        if found is None:
            found = self.catalog.canonicalize_keeping_unknown(scopes)
            self._required[scopes] = found
        return found

    def context(self, request: RequestInfo, token: str | None, declaration: Declaration,
                native: Any = None) -> GuardContext:
        """Build one request's context for a declared route."""
        return GuardContext(request, token, self.canonical(declaration.scopes),
                            native=native, route_limit=declaration.rate)

    async def check(self, ctx: GuardContext, declaration: Declaration | None = None) -> Caller:
        """Run the route's pipeline over ``ctx`` and return the mounted caller.

        A pipeline that authenticated nobody or mounted no caller is a refusal, never a pass.
        """
        pipeline = (declaration.pipeline if declaration and declaration.pipeline
                    else self.pipeline)
        started = time.perf_counter()
        try:
            await pipeline.run(ctx)
            if ctx.auth is None:
                raise InvalidToken("not authenticated", realm=self.config.realm)
            if declaration is not None and declaration.user_auth is not None:
                # Here, not a step: a route's own pipeline cannot leave it out.
                check_user_auth(ctx.auth.claims, declaration.user_auth, realm=self.config.realm)
        except OAuthError as exc:
            metrics.refused(exc.status_code, time.perf_counter() - started)
            raise
        metrics.allowed.observe(time.perf_counter() - started)
        if self.usage is not None:
            self.usage.record(ctx.auth, ctx.request.user_agent, ctx.required)
        if ctx.caller is None:
            ctx.caller = default_caller(ctx.auth)
        return ctx.caller

    def challenge(self, exc: OAuthError, declaration: Declaration) -> OAuthError:
        """Point an error's Bearer challenge at the RFC 9728 metadata (and, on a 401, name
        the route's scopes); adapters call it on every refusal they answer."""
        return self.protected_resource.challenge(exc, self.canonical(declaration.scopes))

    def audit(self, ctx: GuardContext, status: int | None) -> None:
        """Emit the audit event of a guarded call."""
        emit_audit(ctx, status)

    @property
    def exchanger(self) -> TokenExchanger:
        """The RFC 8693 exchanger, with this guard's client credentials (made on first use).

        :raises ValueError: the guard has no ``client_id``/``client_secret``.
        """
        if self._exchanger is None:
            config = self.config
            if not (config.client_id and config.client_secret):
                raise ValueError("token exchange needs the guard's client: set "
                                 "SCOPEGATE_GUARD_CLIENT_ID and SCOPEGATE_GUARD_CLIENT_SECRET")
            self._exchanger = TokenExchanger(
                self.authenticator.http, token_endpoint=config.issuer + "/oauth/token",
                client_id=config.client_id, client_secret=config.client_secret,
                max_entries=config.cache_max_entries, realm=config.realm)
        return self._exchanger

    async def exchange(self, caller: GuardContext | str | None, *, resource: str,
                       scopes: Iterable[str] | None = None) -> ExchangedToken:
        """A token for the downstream API ``resource``, on behalf of this request's caller
        (its context, e.g. ``context_of(request)``, or its raw token); see
        :class:`~scopegate.guard.exchange.TokenExchanger`."""
        token = caller.token if isinstance(caller, GuardContext) else caller
        if not token:
            raise InvalidToken("not authenticated", realm=self.config.realm)
        return await self.exchanger.exchange(token, resource=resource, scopes=scopes)

    async def aclose(self) -> None:
        """Send the last usage counts, then release HTTP connections and the limiter."""
        if self.usage is not None:
            await self.usage.aclose()
        await self.authenticator.aclose()
        await self.authenticator.limiter.aclose()
        await self.readiness.aclose()
