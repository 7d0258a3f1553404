"""Tell every replica about an admin change (``scopegate.events``).

Admin functions take a :class:`Database`; whoever opened it (the server at start-up, a CLI
command when ``SCOPEGATE_REDIS_URL`` is set) attaches the event channel to it here, so a
change made anywhere reaches every server's caches and every guard's deny-list.
Publishing is best effort: the store already holds the truth; a lost notice only means
replicas wait for their cache TTL (a back-stop), so a Redis outage is logged, not raised.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from ...events import Channel, Event, changed, revoked
from ...store import Database
from ..config.settings import Settings

__all__ = ["attach", "client_changed", "client_deleted", "horizon_s", "key_revoked", "notify",
           "session_ended", "user_cut_off"]

log = logging.getLogger("scopegate.events")


@dataclass(frozen=True)
class _Link:
    channel: Channel
    horizon_s: float  # longest an access token (or a cached introspection) can live


_links: WeakKeyDictionary[Database, _Link] = WeakKeyDictionary()


def attach(db: Database, channel: Channel, horizon_s: float) -> None:
    """Publish changes made through ``db`` on ``channel``; a revocation by subject or client
    is kept ``horizon_s`` seconds (every token it must deny has expired by then)."""
    _links[db] = _Link(channel, horizon_s)


def horizon_s(settings: Settings) -> float:
    """How long a revocation by client or subject is kept: the longest an access token
    lives, plus a margin for clock skew."""
    return float(settings.access_token_ttl) + 60.0


def notify(db: Database, *events: Event) -> None:
    """Publish ``events`` when a channel is attached to ``db`` (from blocking code)."""
    link = _links.get(db)
    if link is None:
        return
    for event in events:
        try:
            link.channel.publish_sync(event)
        except ConnectionError as exc:
            log.warning("change not published (replicas see it after their cache TTL): %s",
                        exc)
            return


def _horizon(db: Database) -> float:
    link = _links.get(db)
    return time.time() + (link.horizon_s if link is not None else 3600.0)


def client_changed(db: Database, client_id: str) -> None:
    notify(db, changed(f"client:{client_id}"))


def client_deleted(db: Database, client_id: str) -> None:
    """Every token issued to the client so far is denied, and caches forget it."""
    notify(db, revoked("client", client_id, _horizon(db), not_before=time.time()),
           changed(f"client:{client_id}"))


def key_revoked(db: Database, key_id: str) -> None:
    notify(db, revoked("key", key_id, _horizon(db)))


def user_cut_off(db: Database, user_id: str) -> None:
    """Tokens issued to the user before now are denied (Keycloak's "not before")."""
    notify(db, revoked("sub", user_id, _horizon(db), not_before=time.time()))


def session_ended(db: Database, session_id: str) -> None:
    """Tokens issued through the browser session (their ``sid``) are denied."""
    notify(db, revoked("sid", session_id, _horizon(db)))
