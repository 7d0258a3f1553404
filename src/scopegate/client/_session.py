"""The token session and the whole step-up path: a cached token, or a better one.

One flow (:meth:`TokenSession.token_flow`) does it all, in this order: cache hit;
otherwise, under a per-key lock (threads, tasks and processes), reload the persistent
store and fetch the issuer's scope catalog (once); refresh; re-request silently
(client credentials); or plan a step-up (:func:`._step_up.plan_step_up`) that logs in
once for defaults + granted + required, verifies the grant and the identity, and
saves the new token before evicting the old one. ``ScopegateAuth.auth_flow`` calls it
with the scopes :func:`._challenges.retry_scopes` read from a 401 or a 403. Scopes
are compared by ``scopegate.scopes.covers`` (the issuer's catalog once fetched, else
literally).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

import httpx

from scopegate.scopes import (
    Catalog,
    canonical_names,
    covers,
    permission_scopes,
    scope_set,
    union,
    validate_tokens,
)

from ._cache import TokenCache
from ._dpop import DPoPSigner
from ._exceptions import LoginRequired, ScopeStepUpRequired, TokenEndpointError
from ._flow import Acquire, Blocking, Flow, Release, adrive_with, drive_with
from ._locks import LockRegistry
from ._providers import TokenProvider
from ._step_up import Covered, MissingNonInteractive, check_identity, plan_step_up, verify_granted
from ._terminal import is_interactive
from ._tokens import Token

__all__ = ["TokenSession"]

log = logging.getLogger("scopegate.client")


class TokenSession:
    """Hands out access tokens covering required scopes for one issuer and client.

    :param provider: how to get a token (client credentials, PKCE, device).
    :param cache: where tokens live (default: in memory only).
    :param scopes: scopes to request (after precedence); default: the provider's.
    :param required_scopes: scopes every token from this session must carry.
    :param interactive: whether a login may be started; None detects TTYs and ``CI``.
    :param environment: the environment name used in login hints.
    :param locks: per-key locks (pass one with a lock dir for cross-process safety).
    :param dpop: sender-constrain tokens (RFC 9449): a key kept next to the tokens in
        ``cache``'s store signs a proof for every token request and API call.
    """

    def __init__(
        self,
        provider: TokenProvider,
        *,
        cache: TokenCache | None = None,
        scopes: Iterable[str] | None = None,
        required_scopes: Iterable[str] = (),
        interactive: bool | None = None,
        environment: str | None = None,
        locks: LockRegistry | None = None,
        dpop: bool = False,
    ) -> None:
        self.provider = provider
        self.cache = cache or TokenCache()
        self.scopes = scope_set(validate_tokens(scopes)) if scopes is not None else provider.scopes
        self.required_scopes = scope_set(validate_tokens(required_scopes))
        # Seed 001: every token served must carry the configured scopes too, so a wider
        # configuration never gets a narrower token cached by another (sign-in scopes are
        # not shown in an access token's scope, so they are not part of the check).
        self._always = union(self.required_scopes, permission_scopes(self.scopes))
        self._interactive = interactive
        self.environment = environment
        self.locks = locks or LockRegistry()
        self.dpop = (DPoPSigner(self.cache.store, provider.issuer, provider.client_id)
                     if dpop else None)
        provider.dpop = self.dpop

    @property
    def interactive(self) -> bool:
        """Return whether this session may start a login."""
        return is_interactive() if self._interactive is None else self._interactive

    @property
    def catalog(self) -> Catalog | None:
        """Return the issuer's scope catalog once fetched (None: names compare literally)."""
        return self.provider.catalog

    def _ceiling(self, need: frozenset[str]) -> frozenset[str] | None:
        # Silent (client credentials) tokens must not exceed what was configured, so a
        # read-only configuration never reuses a write token of the same client.
        return union(self.scopes, need) if self.provider.silent else None

    def cached(self, required: frozenset[str] = frozenset()) -> Token | None:
        """Return a valid in-memory token covering ``required`` (no I/O): the hot path."""
        need = union(self._always, required) if required else self._always
        return self._find(need, None, self.provider.catalog)

    def _find(
        self, need: frozenset[str], exclude: str | None, catalog: Catalog | None
    ) -> Token | None:
        """An in-memory token covering ``need`` under the ceiling, other than ``exclude``."""
        return self.cache.find(self.provider.issuer, self.provider.client_id, need,
                               within=self._ceiling(need), exclude=exclude, catalog=catalog)

    def lock_key(self) -> str:
        """Return the key of the lock held while getting this client's tokens."""
        return f"{self.provider.issuer}|{self.provider.client_id}"

    def token_flow(
        self, required: Iterable[str] = (), *, rejected: Token | None = None
    ) -> Flow[Token]:
        """Return a token covering ``required`` plus the session's required scopes.

        :param rejected: a token the API just refused (401 or insufficient_scope).
        """
        catalog = self.provider.catalog
        need = canonical_names(union(self._always, required), catalog)
        exclude = rejected.access_token if rejected else None
        token = self._find(need, exclude, catalog)
        if token is not None:
            return token
        yield Acquire(self.lock_key())
        yield Blocking(self.cache.reload)
        # Another thread, task or process may have done the work while we waited.
        token = self._find(need, exclude, catalog)
        if token is None and catalog is None:
            # Before deciding that no token fits, learn what the issuer's names mean
            # (only now: a token that already fits is used without any request).
            catalog = yield from self.provider.catalog_flow()
            need = canonical_names(need, catalog)
            if catalog is not None:
                token = self._find(need, exclude, catalog)
        if token is not None:
            yield Release(self.lock_key())
            return token
        # A rejected token still tells who the user is, what was granted, and may refresh.
        current = self.current(need)
        if rejected is not None and covers(rejected.scopes, need, catalog):
            # Refused although it covers the need (401): it is dead. A token refused for
            # insufficient_scope still serves what it covers, even if the step-up fails.
            self.cache.forget_memory(rejected)
        token = yield from self._refresh_flow(current, need)
        if token is None:
            token = yield from self._obtain_flow(current, need)
        yield Release(self.lock_key())
        return token

    def current(self, need: frozenset[str]) -> Token | None:
        """Pick the session's existing token: one covering ``need`` first, else the newest."""
        ceiling = self._ceiling(need)
        catalog = self.provider.catalog
        mine = self.cache.tokens(self.provider.issuer, self.provider.client_id)
        tokens = [t for t in mine if ceiling is None or covers(ceiling, t.scopes, catalog)]
        for token in tokens:
            if covers(token.scopes, need, catalog):
                return token
        return tokens[0] if tokens else None

    def _refresh_flow(self, current: Token | None, need: frozenset[str]) -> Flow[Token | None]:
        catalog = self.provider.catalog
        if current is None or not current.refresh_token:
            return None
        if not covers(current.scopes, need, catalog):
            return None
        try:
            token = yield from self.provider.refresh_flow(current)
        except TokenEndpointError as exc:
            log.info("refresh refused (%s); a new login is needed", exc.error)
            self.cache.forget_memory(current)
            if exc.error == "invalid_grant":  # RFC 6749 §5.2: the refresh token is dead
                yield from self.cache.discard_flow(current)
            return None
        if not covers(token.scopes, need, catalog):
            return None
        check_identity(current, token)
        yield from self.cache.save_flow(token, replaces=[current])
        return token

    def _obtain_flow(self, current: Token | None, need: frozenset[str]) -> Flow[Token]:
        catalog = self.provider.catalog
        granted = current.scopes if current else frozenset()
        if self.provider.silent:
            token = yield from self.provider.acquire_flow(
                canonical_names(union(self.scopes, need), catalog)
            )
            verify_granted(token, need, catalog)
            # Keep a narrower valid token: calls that need less still fit under its ceiling.
            stale = current is not None and not current.is_valid(self.cache.clock(), 0)
            yield from self.cache.save_flow(token, replaces=[current] if stale and current else [])
            return token
        if current is None or covers(granted, need, catalog):
            if not self.interactive:
                reason = "not logged in" if current is None else "session expired"
                raise LoginRequired(self.environment, reason)
            wanted = canonical_names(union(self.scopes, granted, need), catalog)
        else:
            plan = plan_step_up(granted, need, self.interactive, self.scopes, catalog)
            if isinstance(plan, MissingNonInteractive):
                raise ScopeStepUpRequired(plan.missing, self.environment)
            if isinstance(plan, Covered):  # pragma: no cover - excluded by the branch above
                raise AssertionError("covered scopes reached the step-up branch")
            wanted = plan.scopes
        token = yield from self.provider.acquire_flow(wanted)
        verify_granted(token, need, catalog)
        check_identity(current, token)
        kept = current is None or not covers(token.scopes, current.scopes, catalog)
        replaces = [] if kept or current is None else [current]
        yield from self.cache.save_flow(token, replaces=replaces)
        return token

    def get_token(
        self,
        required: Iterable[str] = (),
        *,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Token:
        """Return a token covering ``required`` (blocking)."""
        if (hit := self.cached(scope_set(required))) is not None:
            return hit
        return drive_with(self.token_flow(required), http, self.locks, sleep)

    async def aget_token(
        self,
        required: Iterable[str] = (),
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Token:
        """Return a token covering ``required`` (asyncio)."""
        if (hit := self.cached(scope_set(required))) is not None:
            return hit
        return await adrive_with(self.token_flow(required), http, self.locks, sleep)
