"""An explicit login (``scopegate login``): one sign-in for everything the session wants.

Unlike the implicit step-up in ``_session.py``, the user asked for this session, so a
failed save is an error and signing in as another account is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from scopegate.scopes import canonical_names, covers, scope_set, union, validate_tokens

from ._flow import Acquire, Blocking, Flow, Release
from ._session import TokenSession
from ._step_up import verify_granted
from ._tokens import Token

__all__ = ["login_flow"]


def login_flow(session: TokenSession, scopes: Iterable[str] = ()) -> Flow[Token]:
    """Log in once for the session's scopes + already granted + ``scopes``.

    Unlike an implicit step-up, a save that fails here is an error (the user asked
    for a session that would not survive this process), and signing in as another
    account is allowed: it replaces that account's tokens.
    """
    asked = scope_set(validate_tokens(scopes))
    yield Acquire(session.lock_key())
    yield Blocking(session.cache.reload)
    catalog = yield from session.provider.catalog_flow()
    asked = canonical_names(asked, catalog)
    current = session.current(asked)
    kept = current.scopes if current is not None and not session.provider.silent else ()
    token = yield from session.provider.acquire_flow(
        canonical_names(union(session.scopes, kept, asked), catalog)
    )
    verify_granted(token, asked, catalog)
    if current is not None and current.subject != token.subject:
        # An explicit login may switch accounts: the other account's tokens go.
        replaces = session.cache.tokens(session.provider.issuer, session.provider.client_id)
    elif current is not None and covers(token.scopes, current.scopes, catalog):
        replaces = [current]
    else:
        replaces = []
    yield Blocking(lambda: session.cache.save(token, replaces=replaces))
    yield Release(session.lock_key())
    return token
