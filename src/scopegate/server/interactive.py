"""Shared pieces of the interactive grants: their services on the server state, the
role cap, the values grants hand to response hooks, and family revocation.

:func:`install` runs once at startup (``SETUP_HOOKS`` in :mod:`scopegate.server.app`):
it builds the repositories, the browser sessions and the failure throttle, registers the
refresh-token and ID-token response hooks, and the refresh-token introspection handler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from ..errors import InvalidScope
from ..scopes import Catalog, ScopeError
from ..store.repositories.authorization_codes import AuthorizationCodeRepository
from ..store.repositories.device_codes import DeviceCodeRepository
from ..store.repositories.refresh_tokens import RefreshTokenRepository
from ..store.repositories.sessions import SessionRepository
from ..store.repositories.users import (
    ConsentRepository,
    UserRecord,
    UserRepository,
    WorkspaceRepository,
)
from .sessions import BrowserSessions, SessionCodec
from .throttle import FailureStore, LoginLimits, create_failure_store

if TYPE_CHECKING:
    from .state import ServerState

__all__ = [
    "EXTRAS_KEY",
    "Interactive",
    "MintedAccess",
    "PageLimits",
    "RefreshPlan",
    "UserGrant",
    "cap_to_role",
    "hash_secret",
    "install",
    "interactive",
    "revoke_family",
]

EXTRAS_KEY = "interactive"


def hash_secret(value: str) -> str:
    """The stored form of a high-entropy secret (code, token): its SHA-256 hex digest."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class PageLimits:
    """Wrong user codes on the device page before each further one waits (doubling from
    1 s up to ``window_s``, forgotten after ``window_s``); tests may lower them."""

    window_s: float = 300.0
    code_lookups_per_session: int = 10
    code_lookups_per_ip: int = 20


@dataclass(eq=False)
class Interactive:
    """The repositories and helpers the interactive endpoints and grants share."""

    users: UserRepository
    workspaces: WorkspaceRepository
    consents: ConsentRepository
    codes: AuthorizationCodeRepository
    devices: DeviceCodeRepository
    refresh: RefreshTokenRepository
    sessions: BrowserSessions
    throttle: FailureStore
    login_limits: LoginLimits
    limits: PageLimits = field(default_factory=lambda: PageLimits())


@dataclass(slots=True)
class MintedAccess:
    """Filled by a response hook with the id and expiry of the access token just minted."""

    jti: str | None = None
    exp: int | None = None


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    """Asks the refresh hook for a refresh token.

    :param family_id: the rotation family (new for a code or device grant).
    :param grant_scopes: the family's original grant; later refreshes stay within it.
    :param parent_hash: the presented token's hash when rotating (None for a new family).
    """

    family_id: str
    grant_scopes: frozenset[str]
    resources: tuple[str, ...] = ()
    parent_hash: str | None = None


@dataclass(frozen=True, slots=True)
class UserGrant:
    """What a user-facing grant hands to the response hooks via ``extras[EXTRAS_KEY]``."""

    user: UserRecord
    auth_time: int
    nonce: str | None = None
    refresh: RefreshPlan | None = None
    minted: MintedAccess = field(default_factory=MintedAccess)


def cap_to_role(catalog: Catalog, role: str, scopes: Iterable[str]) -> frozenset[str]:
    """Return ``scopes`` if the user's role (catalog ``[roles]``) covers every one of them.

    A token never exceeds its owner: scopes beyond the role are refused, not dropped.

    :raises InvalidScope: naming the scopes the role may not hold.
    """
    try:
        return catalog.cap(scopes, role)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from None


def interactive(state: ServerState) -> Interactive:
    """The :class:`Interactive` services of a running server."""
    found = state.extras.get(EXTRAS_KEY)
    if not isinstance(found, Interactive):
        raise RuntimeError("scopegate.server.interactive.install did not run")
    return found


async def revoke_family(state: ServerState, family_id: str | None,
                        extra: Iterable[tuple[str | None, datetime | None]] = ()) -> int:
    """Revoke a refresh family and deny-list every access token issued with it.

    :param extra: more (jti, expiry) pairs to deny-list (e.g. a code's own access token).
    :returns: how many access-token ids were deny-listed.
    """
    services = interactive(state)
    pairs: list[tuple[str, datetime]] = [(j, e) for j, e in extra if j and e]
    if family_id:
        pairs += await run_in_threadpool(services.refresh.revoke_family, family_id)
    for jti, expires_at in dict(pairs).items():
        await state.denylist.revoke(jti, int(expires_at.timestamp()))
    return len(dict(pairs))


def install(state: ServerState) -> None:
    """Attach the interactive services, hooks and handlers to a freshly loaded state."""
    from .id_token import id_token_hook
    from .refresh_tokens import RefreshTokenHandler, minted_access_hook, refresh_token_hook

    db, settings = state.db, state.settings
    codec = SessionCodec(state.session_secret, secure=settings.issuer.startswith("https://"),
                         max_age_s=settings.session_absolute_ttl)
    throttle = create_failure_store(settings.redis_url, prefix="scopegate:failures:")
    state.extras[EXTRAS_KEY] = Interactive(
        users=UserRepository(db),
        workspaces=WorkspaceRepository(db),
        consents=ConsentRepository(db),
        codes=AuthorizationCodeRepository(db),
        devices=DeviceCodeRepository(db),
        refresh=RefreshTokenRepository(db),
        sessions=BrowserSessions(codec, SessionRepository(db),
                                 idle_s=settings.session_idle_ttl,
                                 absolute_s=settings.session_absolute_ttl),
        throttle=throttle,
        login_limits=LoginLimits.from_settings(settings),
    )
    hooks = state.issuer.response_hooks
    hooks.append(minted_access_hook)
    hooks.append(refresh_token_hook(state))
    hooks.append(id_token_hook(state))
    state.token_handlers.append(RefreshTokenHandler())
    state.on_shutdown.append(throttle.aclose)
