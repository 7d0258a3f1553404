"""The RFC 9470 step-up: the API wants a more recent or stronger sign-in.

A 401 ``insufficient_user_authentication`` (read by :func:`._challenges.user_authentication`)
is answered by one interactive login that passes the API's ``max_age`` and
``acr_values`` to the authorization endpoint, so the server asks for the password again;
the request is then retried once. A refresh never helps here (a refreshed token keeps
the old ``auth_time``), so none is tried. Without a person to sign in, or with a login
method that cannot carry ``max_age`` (client credentials, the device flow), it fails fast
with the command that signs in afresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scopegate.scopes import canonical_names, covers, union

from ._challenges import AuthDemand
from ._exceptions import SignInStepUpRequired
from ._flow import Acquire, Flow, Release
from ._providers import AuthorizationCodePkceProvider
from ._step_up import check_identity, verify_granted
from ._tokens import Token

if TYPE_CHECKING:
    from ._session import TokenSession

__all__ = ["sign_in_again_flow"]


def sign_in_again_flow(session: TokenSession, required: frozenset[str], demand: AuthDemand,
                       rejected: Token | None) -> Flow[Token]:
    """Sign in once more as ``demand`` asks, for the session's scopes + granted +
    ``required``; return the new token (saved, replacing the one it covers)."""
    provider = session.provider
    if not isinstance(provider, AuthorizationCodePkceProvider):
        raise SignInStepUpRequired(demand.max_age, demand.acr_values, session.environment,
                                   "this login method cannot ask for a fresh sign-in")
    if not session.interactive:
        raise SignInStepUpRequired(demand.max_age, demand.acr_values, session.environment)
    catalog = provider.catalog
    need = canonical_names(union(session.required_scopes, required), catalog)
    yield Acquire(session.lock_key())
    current = rejected or session.current(need)
    granted = current.scopes if current is not None else frozenset()
    wanted = canonical_names(union(session.scopes, granted, need), catalog)
    token = yield from provider.acquire_flow(wanted, demand=demand)
    verify_granted(token, need, catalog)
    check_identity(current, token)
    replaces = [current] if current is not None and covers(token.scopes, current.scopes,
                                                            catalog) else []
    yield from session.cache.save_flow(token, replaces=replaces)
    yield Release(session.lock_key())
    return token
