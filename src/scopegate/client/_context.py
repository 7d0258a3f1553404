"""Scopes declared where they are needed: a bound session, ``requires_scopes``, ``get_token``.

``use_session`` binds a session for the current context (thread or task);
``requires_scopes`` gets a token covering a command's scopes before it runs, stepping
up if needed; ``get_token`` / ``aget_token`` are the one-call way to a token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from scopegate.scopes import scope_set, validate_tokens

from ._factory import session_from_env
from ._session import TokenSession
from ._tokens import Token

__all__ = ["aget_token", "current_session", "get_token", "requires_scopes", "use_session"]

P = ParamSpec("P")
R = TypeVar("R")

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
