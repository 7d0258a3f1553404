"""The token session: find a cached token covering the required scopes, or get one.

One flow (:meth:`TokenSession.token_flow`) does it all, in this order: cache hit;
otherwise, under a per-key lock (threads, tasks and processes), reload the persistent
store and fetch the issuer's scope catalog (once); refresh; re-request silently
(client credentials); or plan a step-up that logs in once for defaults + granted +
required, verifies the grant and the identity, and saves the new token before
evicting the old one.

Every "is this covered" answer goes through ``_compare``: with the issuer's catalog
(aliases, implication) once the provider has it, literally before or without it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import httpx

from scopegate.scopes import Catalog, scope_set, union, validate_tokens

from ._cache import TokenCache
from ._compare import canonical, covers
from ._exceptions import (
    LoginRequired,
    ScopeStepUpRequired,
    TokenEndpointError,
    TokenStoreError,
)
from ._flow import Acquire, Blocking, Flow, Release, drive_async, drive_sync
from ._locks import LockRegistry
from ._providers import TokenProvider
from ._stepup import (
    Covered,
    MissingNonInteractive,
    check_identity,
    is_interactive,
    plan_step_up,
    verify_granted,
)
from ._tokens import Token

__all__ = ["TokenSession", "current_session", "requires_scopes", "use_session"]

log = logging.getLogger("scopegate.client")
P = ParamSpec("P")
R = TypeVar("R")


class TokenSession:
    """Hands out access tokens covering required scopes for one issuer and client.

    :param provider: how to get a token (client credentials, PKCE, device).
    :param cache: where tokens live (default: in memory only).
    :param scopes: scopes to request (after precedence); default: the provider's.
    :param required_scopes: scopes every token from this session must carry.
    :param interactive: whether a login may be started; None detects TTYs and ``CI``.
    :param environment: the environment name used in login hints.
    :param locks: per-key locks (pass one with a lock dir for cross-process safety).
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
    ) -> None:
        self.provider = provider
        self.cache = cache or TokenCache()
        self.scopes = scope_set(validate_tokens(scopes)) if scopes is not None else provider.scopes
        self.required_scopes = scope_set(validate_tokens(required_scopes))
        self._interactive = interactive
        self.environment = environment
        self.locks = locks or LockRegistry()

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
        need = union(self.required_scopes, required) if required else self.required_scopes
        return self.cache.find(
            self.provider.issuer,
            self.provider.client_id,
            need,
            within=self._ceiling(need),
            catalog=self.provider.catalog,
        )

    def _lock_key(self) -> str:
        return f"{self.provider.issuer}|{self.provider.client_id}"

    def token_flow(
        self, required: Iterable[str] = (), *, rejected: Token | None = None
    ) -> Flow[Token]:
        """Return a token covering ``required`` plus the session's required scopes.

        :param rejected: a token the API just refused (401 or insufficient_scope).
        """
        catalog = self.provider.catalog
        need = canonical(catalog, union(self.required_scopes, required))
        issuer, client_id = self.provider.issuer, self.provider.client_id
        exclude = rejected.access_token if rejected else None
        ceiling = self._ceiling(need)
        token = self.cache.find(
            issuer, client_id, need, within=ceiling, exclude=exclude, catalog=catalog
        )
        if token is not None:
            return token
        yield Acquire(self._lock_key())
        yield Blocking(self.cache.reload)
        # Another thread, task or process may have done the work while we waited.
        token = self.cache.find(
            issuer, client_id, need, within=ceiling, exclude=exclude, catalog=catalog
        )
        if token is None and catalog is None:
            # Before deciding that no token fits, learn what the issuer's names mean
            # (only now: a token that already fits is used without any request).
            catalog = yield from self.provider.catalog_flow()
            need = canonical(catalog, need)
            ceiling = self._ceiling(need)
            if catalog is not None:
                token = self.cache.find(
                    issuer, client_id, need, within=ceiling, exclude=exclude, catalog=catalog
                )
        if token is not None:
            yield Release(self._lock_key())
            return token
        # A rejected token still tells who the user is, what was granted, and may refresh.
        current = self._current(need)
        if rejected is not None and covers(catalog, rejected.scopes, need):
            # Refused although it covers the need (401): it is dead. A token refused for
            # insufficient_scope still serves what it covers, even if the step-up fails.
            self.cache.forget_memory(rejected)
        token = yield from self._refresh_flow(current, need)
        if token is None:
            token = yield from self._obtain_flow(current, need)
        yield Release(self._lock_key())
        return token

    def _current(self, need: frozenset[str]) -> Token | None:
        """Pick the session's existing token: one covering ``need`` first, else the newest."""
        ceiling = self._ceiling(need)
        catalog = self.provider.catalog
        tokens = [
            t
            for t in self.cache.tokens(self.provider.issuer, self.provider.client_id)
            if ceiling is None or covers(catalog, ceiling, t.scopes)
        ]
        for token in tokens:
            if covers(catalog, token.scopes, need):
                return token
        return tokens[0] if tokens else None

    def _refresh_flow(self, current: Token | None, need: frozenset[str]) -> Flow[Token | None]:
        catalog = self.provider.catalog
        if current is None or not current.refresh_token:
            return None
        if not covers(catalog, current.scopes, need):
            return None
        try:
            token = yield from self.provider.refresh_flow(current)
        except TokenEndpointError as exc:
            log.info("refresh refused (%s); a new login is needed", exc.error)
            self.cache.forget_memory(current)
            if exc.error == "invalid_grant":  # RFC 6749 §5.2: the refresh token is dead
                yield from self._discard_flow(current)
            return None
        if not covers(catalog, token.scopes, need):
            return None
        check_identity(current, token)
        yield from self._save_flow(token, replaces=[current])
        return token

    def _obtain_flow(self, current: Token | None, need: frozenset[str]) -> Flow[Token]:
        catalog = self.provider.catalog
        granted = current.scopes if current else frozenset()
        if self.provider.silent:
            token = yield from self.provider.acquire_flow(
                canonical(catalog, union(self.scopes, need))
            )
            verify_granted(token, need, catalog)
            # Keep a narrower valid token: calls that need less still fit under its ceiling.
            stale = current is not None and not current.is_valid(self.cache.clock(), 0)
            yield from self._save_flow(token, replaces=[current] if stale and current else [])
            return token
        if current is None or covers(catalog, granted, need):
            if not self.interactive:
                reason = "not logged in" if current is None else "session expired"
                raise LoginRequired(self.environment, reason)
            wanted = canonical(catalog, union(self.scopes, granted, need))
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
        replaces = (
            [current]
            if current is not None and covers(catalog, token.scopes, current.scopes)
            else []
        )
        yield from self._save_flow(token, replaces=replaces)
        return token

    def _save_flow(self, token: Token, replaces: list[Token]) -> Flow[None]:
        """Save the new token before evicting the old; a failed save keeps the old one."""
        try:
            yield Blocking(lambda: self.cache.save(token, replaces=replaces))
        except TokenStoreError as exc:
            # The new token still serves this process; the old one stays stored.
            kept = "; keeping the previous session on disk" if replaces else ""
            log.warning("%s; the new token was not saved and serves this process only%s",
                        exc, kept)

    def _discard_flow(self, token: Token) -> Flow[None]:
        """Forget a dead session on disk too, so it is neither re-sent nor reported."""
        try:
            yield Blocking(lambda: self.cache.discard(token))
        except TokenStoreError as exc:
            log.warning("%s; the expired session could not be removed", exc)

    def login_flow(self, scopes: Iterable[str] = ()) -> Flow[Token]:
        """Log in once for the session's scopes + already granted + ``scopes``.

        Unlike an implicit step-up, a save that fails here is an error (the user asked
        for a session that would not survive this process), and signing in as another
        account is allowed: it replaces that account's tokens.
        """
        asked = scope_set(validate_tokens(scopes))
        yield Acquire(self._lock_key())
        yield Blocking(self.cache.reload)
        catalog = yield from self.provider.catalog_flow()
        asked = canonical(catalog, asked)
        current = self._current(asked)
        kept = current.scopes if current is not None and not self.provider.silent else ()
        token = yield from self.provider.acquire_flow(
            canonical(catalog, union(self.scopes, kept, asked))
        )
        verify_granted(token, asked, catalog)
        if current is not None and current.subject != token.subject:
            # An explicit login may switch accounts: the other account's tokens go.
            replaces = self.cache.tokens(self.provider.issuer, self.provider.client_id)
        elif current is not None and covers(catalog, token.scopes, current.scopes):
            replaces = [current]
        else:
            replaces = []
        yield Blocking(lambda: self.cache.save(token, replaces=replaces))
        yield Release(self._lock_key())
        return token

    def get_token(
        self,
        required: Iterable[str] = (),
        *,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Token:
        """Return a token covering ``required`` (blocking)."""
        hit = self.cached(scope_set(required))
        if hit is not None:
            return hit
        client = http or httpx.Client(timeout=30)
        try:
            return drive_sync(self.token_flow(required), client.send, self.locks, sleep)
        finally:
            if http is None:
                client.close()

    async def aget_token(
        self,
        required: Iterable[str] = (),
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Token:
        """Return a token covering ``required`` (asyncio)."""
        hit = self.cached(scope_set(required))
        if hit is not None:
            return hit
        client = http or httpx.AsyncClient(timeout=30)
        try:
            return await drive_async(self.token_flow(required), client.send, self.locks, sleep)
        finally:
            if http is None:
                await client.aclose()


_current: ContextVar[TokenSession | None] = ContextVar("scopegate_session", default=None)


def current_session() -> TokenSession:
    """Return the session bound by :func:`use_session` (for runtime-derived scopes)."""
    session = _current.get()
    if session is None:
        raise LookupError("no scopegate session is bound; call use_session() first")
    return session


def use_session(session: TokenSession | None) -> object:
    """Bind ``session`` for :func:`requires_scopes` and :func:`current_session`.

    Returns the ContextVar token that restores the previous binding.
    """
    return _current.set(session)


def requires_scopes(
    *scopes: str, session: Callable[[Mapping[str, Any]], TokenSession] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare the scopes a Typer/Click command (or any function) needs.

    Before the function runs, the bound session gets a token covering them, stepping
    up (or raising :class:`ScopeStepUpRequired`) if the cached token lacks them. The
    declared set is kept on ``func.__scopegate_scopes__`` for help text and tests.

    :param session: builds the session from the command's keyword arguments (e.g. its
        ``env`` option) when none is bound with :func:`use_session`.
    """
    declared = scope_set(validate_tokens(scopes))

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = _current.get()
            if bound is None and session is not None:
                bound = session(kwargs)
            (bound or current_session()).get_token(declared)
            return func(*args, **kwargs)

        wrapper.__scopegate_scopes__ = declared  # type: ignore[attr-defined]
        return wrapper

    return decorate
