"""Scopes declared where they are needed: a bound session, ``requires_scopes``, ``get_token``.

``use_session`` binds a session for the current context (thread or task), for good or
for a ``with`` block; ``requires_scopes`` gets a token covering a command's scopes before
it runs (``async def`` functions await it), stepping up if needed; ``get_token`` /
``aget_token`` are the one-call way to a token.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from contextvars import Token as VarToken
from functools import wraps
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from scopegate.scopes import scope_set, validate_tokens

from ._factory import session_from_env
from ._session import TokenSession
from ._tokens import Token

__all__ = ["BoundSession", "aget_token", "current_session", "get_token", "requires_scopes",
           "use_session"]

P = ParamSpec("P")
R = TypeVar("R")

_current: ContextVar[TokenSession | None] = ContextVar("scopegate_session", default=None)


def current_session() -> TokenSession:
    """Return the session bound by :func:`use_session` (for runtime-derived scopes)."""
    session = _current.get()
    if session is None:
        raise LookupError("no scopegate session is bound; call use_session() first")
    return session


class BoundSession:
    """The binding :func:`use_session` made; leaving a ``with`` block restores the previous one."""

    def __init__(self, session: TokenSession | None) -> None:
        self.session = session
        self.token: VarToken[TokenSession | None] = _current.set(session)

    def reset(self) -> None:
        """Restore the binding that was in place before this one."""
        _current.reset(self.token)

    def __enter__(self) -> TokenSession | None:
        return self.session

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.reset()


def use_session(session: TokenSession | None) -> BoundSession:
    """Bind ``session`` for :func:`requires_scopes` and :func:`current_session`.

    The binding holds at once (``use_session(s)`` on its own line binds it for the rest of
    the context); ``with use_session(s):`` binds it for the block only.
    """
    return BoundSession(session)


def requires_scopes(
    *scopes: str, session: Callable[[Mapping[str, Any]], TokenSession] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare the scopes a Typer/Click command (or any function, ``async def`` too) needs.

    Before the function runs, the bound session gets a token covering them, stepping
    up (or raising :class:`ScopeStepUpRequired`) if the cached token lacks them. The
    declared set is kept on ``func.__scopegate_scopes__`` for help text and tests.

    :param session: builds the session from the command's keyword arguments (e.g. its
        ``env`` option) when none is bound with :func:`use_session`.
    """
    declared = scope_set(validate_tokens(scopes))

    def bound(kwargs: Mapping[str, Any]) -> TokenSession:
        found = _current.get()
        if found is None and session is not None:
            found = session(kwargs)
        return found or current_session()

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):
            # An ``async def`` stays one (Typer, FastAPI and anyio look), and the token is
            # awaited instead of blocking the event loop.
            run = cast(Callable[P, Awaitable[Any]], func)

            @wraps(func)
            async def awrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                await bound(kwargs).aget_token(declared)
                return await run(*args, **kwargs)

            awrapper.__scopegate_scopes__ = declared  # type: ignore[attr-defined]
            return cast(Callable[P, R], awrapper)

        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound(kwargs).get_token(declared)
            return func(*args, **kwargs)

        wrapper.__scopegate_scopes__ = declared  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _session_for(session: TokenSession | None, env: str | None) -> TokenSession:
    return session or _current.get() or session_from_env(env)


def get_token(
    *scopes: str, session: TokenSession | None = None, env: str | None = None, **options: Any
) -> Token:
    """Return an access token carrying ``scopes`` (blocking), stepping up if needed.

    :param session: where tokens come from; default: the one bound by :func:`use_session`,
        else the environment's (``env``, else ``SCOPEGATE_ENV``) from ``environments.json``.
    :param options: ``http=`` (an ``httpx.Client``) or ``sleep=``, for tests.
    """
    return _session_for(session, env).get_token(validate_tokens(scopes), **options)


def aget_token(
    *scopes: str, session: TokenSession | None = None, env: str | None = None, **options: Any
) -> Awaitable[Token]:
    """The asyncio form of :func:`get_token` (``http=`` is an ``httpx.AsyncClient``)."""
    return _session_for(session, env).aget_token(validate_tokens(scopes), **options)
