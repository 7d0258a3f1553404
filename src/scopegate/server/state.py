"""Everything a running server holds, in one object on ``app.state.server``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..events import Channel, InProcessChannel, Revocations, channel_for
from ..scopes import Catalog, load_catalog
from ..store import Database
from ..store.repositories import (
    ClientRecord,
    ClientRepository,
    RevocationRepository,
    SecretRepository,
    SigningKeyRepository,
    StoredSecrets,
)
from ..store.repositories.api_keys import ApiKeyRepository
from ..store.repositories.resources import ResourceRepository
from ..store.sealing import KekRing
from .config.settings import Settings
from .crypto.kek import Announce, load_keks
from .oauth2.client_cache import ClientCache
from .oauth2.client_origins import ClientOrigins
from .oauth2.denylist import DenyList
from .oauth2.grants.registry import GrantHandler, GrantRegistry
from .oauth2.issuance import TokenIssuer
from .oauth2.resources import ResourceDirectory, static_directory
from .ops.metrics import Metrics
from .ops.outage import log_availability
from .shared.user_grants import UserGrantServices, build_user_grant_services
from .signing.signing_keys import SigningKeys, ensure_signing_key

__all__ = ["PEPPER_SECRET", "PUSHED_CACHE_TTL", "SESSION_SECRET", "Periodic", "RegistrationRules",
           "RenderedDocuments", "ServerState", "TokenHandler", "cache_ttl", "own_resource_names",
           "prepare_database"]

PEPPER_SECRET = "client_secret_pepper"
#: With Redis every admin change is pushed to every replica (``scopegate.events``), so the
#: client and resource caches keep entries this long at least: the TTL is only a back-stop,
#: and 10,000 active clients no longer cost a database read each every few seconds.
PUSHED_CACHE_TTL = 300.0
SESSION_SECRET = "session_secret"


class TokenHandler(Protocol):
    """Introspects and revokes one kind of token we issue besides JWT access tokens.

    ``create_app`` registers the refresh-token one and the API-key module its own, in
    :attr:`ServerState.token_handlers`.
    """

    async def introspect(self, state: ServerState, token: str) -> Mapping[str, Any] | None:
        """The RFC 7662 response for ``token``, or None if it is not of this kind."""
        ...

    async def revoke(self, state: ServerState, token: str, client: ClientRecord) -> bool:
        """Revoke ``token`` if it is of this kind and belongs to ``client``; True if handled."""
        ...


@dataclass(slots=True)
class RenderedDocuments:
    """Public JSON documents, rendered on first request and served as these bytes after."""

    metadata: bytes | None = None
    scopes: bytes | None = None
    openapi: bytes | None = None


class RegistrationRules(Protocol):
    """Client self-registration's policy (:class:`scopegate.server.registration.policy.
    RegistrationPolicy`), set when its endpoint starts."""

    @property
    def enabled(self) -> bool:
        """Whether ``/oauth/register`` is served and advertised."""
        ...


class Periodic(Protocol):
    """The periodic maintenance pass (:class:`scopegate.server.ops.maintenance.Maintenance`)."""

    async def run_once(self) -> Any:
        """Run one pass now."""
        ...


def cache_ttl(settings: Settings) -> float:
    """How long a client or resource lookup is reused: ``client_cache_ttl`` alone (another
    process's change is seen no later), at least :data:`PUSHED_CACHE_TTL` with Redis."""
    if settings.redis_url:
        return max(settings.client_cache_ttl, PUSHED_CACHE_TTL)
    return settings.client_cache_ttl


def prepare_database(db: Database, settings: Settings,
                     announce: Announce | None = None) -> KekRing:
    """Make a database ready: upgrade an SQLite file, find the key-encryption key, seal
    what an older version stored in the clear, generate the first signing keys.

    PostgreSQL is never migrated implicitly: run ``scopegate db upgrade``.

    :param announce: how to say that a local key file was made (default: a log warning).
    :returns: the KEKs that seal and open the database's secrets.
    :raises SealError: no usable KEK, or one that does not open the stored secrets.
    """
    from ..store import DatabaseError

    if db.is_sqlite:
        db.upgrade()
    elif not db.is_current():
        raise DatabaseError("the database schema is not current; run `scopegate db upgrade`")
    stored = StoredSecrets(db)
    keks = load_keks(settings, may_create=not stored.any_sealed(), announce=announce)
    stored.seal_and_check(keks)
    ensure_signing_key(SigningKeyRepository(db, keks), settings.signing_alg)
    return keks


def own_resource_names(settings: Settings) -> dict[str, str]:
    """Names for people of the resources that are the server's own APIs."""
    return {settings.management_audience: "scopegate management API",
            settings.userinfo_audience: "OpenID Connect UserInfo"}


@dataclass(eq=False)
class ServerState:
    """The server's collaborators; endpoints reach them as ``ctx.server``.

    ``scope_memo`` memoises pure answers derived from the (immutable) catalog, keyed by a
    tuple whose first item names the caller; ``documents`` holds the rendered public
    documents; ``maintenance`` is set by the lifespan, ``registration`` by the registration
    endpoint's start-up.
    """

    settings: Settings
    db: Database
    catalog: Catalog
    signing_keys: SigningKeys
    clients: ClientCache
    denylist: DenyList
    issuer: TokenIssuer
    grants: GrantRegistry
    metrics: Metrics
    pepper: str
    session_secret: str
    api_keys: ApiKeyRepository
    user_grants: UserGrantServices
    resources: ResourceDirectory
    client_origins: ClientOrigins
    events: Channel = field(default_factory=InProcessChannel)
    token_handlers: list[TokenHandler] = field(default_factory=list)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    documents: RenderedDocuments = field(default_factory=RenderedDocuments)
    maintenance: Periodic | None = None
    registration: RegistrationRules | None = None
    scope_memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # Cut-offs by subject / client from every replica (admin changes), kept by the watcher.
    revocations: Revocations = field(default_factory=Revocations)
    dpop: Any = None  # the token endpoint's DPoP checks (server/dpop), set by create_app

    @classmethod
    def load(cls, settings: Settings, grants: Sequence[GrantHandler]) -> ServerState:
        """Open the database, prepare it, load catalog, keys and secrets (blocking I/O)."""
        db = Database(settings.database_url, on_availability=log_availability)
        keks = prepare_database(db, settings)
        catalog = load_catalog(settings.catalog_path).resolve_audiences(
            settings.audience_symbols)
        signing_keys = SigningKeys(SigningKeyRepository(db, keks), settings.issuer)
        secrets_repo = SecretRepository(db, keks)
        metrics = Metrics()
        denylist = DenyList(RevocationRepository(db))
        denylist.warm()
        events = channel_for(settings.redis_url, settings.issuer)
        denylist.channel = events
        session_secret = settings.session_secret or secrets_repo.get_or_create(SESSION_SECRET)
        user_grants = build_user_grant_services(db, settings, session_secret)
        resources = ResourceDirectory(
            ResourceRepository(db), static_directory(catalog, own_resource_names(settings)),
            cache_ttl(settings))
        return cls(
            settings=settings,
            db=db,
            catalog=catalog,
            signing_keys=signing_keys,
            clients=ClientCache(ClientRepository(db), cache_ttl(settings)),
            denylist=denylist,
            issuer=TokenIssuer(catalog=catalog, signing_keys=signing_keys, issuer=settings.issuer,
                               companions=(settings.userinfo_audience,),
                               access_token_ttl=settings.access_token_ttl,
                               on_issued=metrics.token_issued, directory=resources),
            grants=GrantRegistry(grants, settings.features),
            metrics=metrics,
            api_keys=ApiKeyRepository(db, prefix=settings.api_key_prefix),
            pepper=secrets_repo.get_or_create(PEPPER_SECRET),
            session_secret=session_secret,
            user_grants=user_grants,
            resources=resources,
            client_origins=ClientOrigins(ClientRepository(db).list, cache_ttl(settings)),
            events=events,
            on_shutdown=[user_grants.throttle.aclose, events.aclose],
        )
