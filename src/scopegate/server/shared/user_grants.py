"""What the grants a user takes part in share (authorization code, device, refresh): their
services (``ServerState.user_grants``, built by :func:`build_user_grant_services` when the
state loads), the role cap, and the values grants hand to response hooks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ...errors import InvalidRequest, InvalidScope
from ...scopes import Catalog, ScopeError
from ...store import Database
from ...store.repositories.authorization_codes import AuthorizationCodeRepository
from ...store.repositories.device_codes import DeviceCodeRepository
from ...store.repositories.pushed_requests import PushedRequestRepository
from ...store.repositories.refresh_tokens import RefreshTokenRepository
from ...store.repositories.sessions import SessionRepository
from ...store.repositories.users import ConsentRepository, UserRecord, UserRepository
from ...store.repositories.workspaces import WorkspaceRepository
from ..config.settings import Settings
from ..pages.sessions import BrowserSessions, SessionCodec
from ..pages.throttle import FailureStore, LoginLimits, create_failure_store

__all__ = [
    "MintedAccess",
    "PageLimits",
    "RefreshPlan",
    "UserGrant",
    "UserGrantServices",
    "build_user_grant_services",
    "cap_to_role",
    "hash_secret",
    "presented_secret_hash",
]

def hash_secret(value: str) -> str:
    """The stored form of a high-entropy secret (code, token): its SHA-256 hex digest."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def presented_secret_hash(params: Mapping[str, str], name: str, max_length: int = 128) -> str:
    """The stored form of a one-time secret a grant presents (``code``, ``device_code``).

    :raises InvalidRequest: the parameter is missing or longer than any we issue.
    """
    value = params.get(name)
    if not value or len(value) > max_length:
        raise InvalidRequest(f"{name} is required")
    return hash_secret(value)


@dataclass(slots=True)
class PageLimits:
    """Wrong user codes on the device page before each further one waits (doubling from
    1 s up to ``window_s``, forgotten after ``window_s``); tests may lower them."""

    window_s: float = 300.0
    code_lookups_per_session: int = 10
    code_lookups_per_ip: int = 20


@dataclass(eq=False)
class UserGrantServices:
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
    pushed: PushedRequestRepository
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
    """What a user-facing grant hands to the response hooks (``Issued.user_grant``).

    :param session_id: the browser session that approved the grant (``ses_…``): its
        tokens carry it as ``sid``, so ending that session denies them.
    """

    user: UserRecord
    auth_time: int
    nonce: str | None = None
    refresh: RefreshPlan | None = None
    minted: MintedAccess = field(default_factory=MintedAccess)
    session_id: str | None = None


def cap_to_role(catalog: Catalog, role: str, scopes: Iterable[str]) -> frozenset[str]:
    """Return ``scopes`` if the user's role (catalog ``[roles]``) covers every one of them.

    A token never exceeds its owner: scopes beyond the role are refused, not dropped.

    :raises InvalidScope: naming the scopes the role may not hold.
    """
    try:
        return catalog.cap(scopes, role)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from None


def build_user_grant_services(db: Database, settings: Settings,
                              session_secret: str) -> UserGrantServices:
    """The repositories, browser sessions and failure throttle the interactive grants share.

    The caller closes ``throttle`` at shutdown.
    """
    codec = SessionCodec(session_secret, secure=settings.issuer.startswith("https://"),
                         max_age_s=settings.session_absolute_ttl)
    return UserGrantServices(
        users=UserRepository(db),
        workspaces=WorkspaceRepository(db),
        consents=ConsentRepository(db),
        codes=AuthorizationCodeRepository(db),
        devices=DeviceCodeRepository(db),
        refresh=RefreshTokenRepository(db),
        sessions=BrowserSessions(codec, SessionRepository(db),
                                 idle_s=settings.session_idle_ttl,
                                 absolute_s=settings.session_absolute_ttl),
        throttle=create_failure_store(settings.redis_url, prefix="scopegate:failures:"),
        login_limits=LoginLimits.from_settings(settings),
        pushed=PushedRequestRepository(db),
    )
