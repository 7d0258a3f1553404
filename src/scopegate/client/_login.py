"""An explicit login (``scopegate login``): one sign-in for everything the session wants.

Unlike the implicit step-up in ``_session.py``, the user asked for this session, so a
failed save is an error and signing in as another account is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from scopegate.scopes import canonical_names, covers, scope_set, union, validate_tokens

from ._challenges import AuthDemand
from ._exceptions import AuthenticationError
from ._flow import Acquire, Blocking, Flow, Release
from ._providers import AuthorizationCodePkceProvider
from ._session import TokenSession
from ._step_up import verify_granted
from ._tokens import Token

__all__ = ["login_flow"]


def login_flow(session: TokenSession, scopes: Iterable[str] = (),
               max_age: int | None = None) -> Flow[Token]:
    """Log in once for the session's scopes + already granted + ``scopes``.

    Unlike an implicit step-up, a save that fails here is an error (the user asked
    for a session that would not survive this process), and signing in as another
    account is allowed: it replaces that account's tokens.

    :param max_age: ask the server for a sign-in at most this old (0: enter the password
        again), as an API that answered ``insufficient_user_authentication`` wants.
    """
    provider = session.provider
    if max_age is not None and not isinstance(provider, AuthorizationCodePkceProvider):
        raise AuthenticationError("a fresh sign-in (max_age) needs the browser login, "
                                  "not the device flow or client credentials")
    asked = scope_set(validate_tokens(scopes))
    yield Acquire(session.lock_key())
    yield Blocking(session.cache.reload)
    catalog = yield from session.provider.catalog_flow()
    asked = canonical_names(asked, catalog)
    current = session.current(asked)
    kept = current.scopes if current is not None and not session.provider.silent else ()
    wanted = canonical_names(union(session.scopes, kept, asked), catalog)
    if isinstance(provider, AuthorizationCodePkceProvider):
        demand = AuthDemand(max_age) if max_age is not None else None
        token = yield from provider.acquire_flow(wanted, demand=demand)
    else:
        token = yield from provider.acquire_flow(wanted)
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
