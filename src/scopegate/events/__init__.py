"""Revocations and changes, told to every replica (servers and guards).

A *revocation* denies tokens by one of their keys (``jti``, API ``key``, ``client``,
``sub``, ``sid``) until an expiry; a *change* tells caches that a client, resource,
signing key or the catalog changed. Two channels carry them:

- :class:`InProcessChannel`: one process (tests, a single replica);
- :class:`RedisChannel`: pub/sub for speed plus a sorted set of active revocations, so a
  subscriber that (re)connects resyncs what pub/sub lost while it was away.

A :class:`Revocations` set is what a replica keeps: it is never emptied on a disconnect,
so an outage cannot make a revoked token valid again.
"""

from ._channel import Channel, Listener
from ._memory import InProcessChannel
from ._model import CHANGED, KINDS, Event, Revocations, audience_notice, changed, revoked
from ._redis import RedisChannel, channel_for, events_prefix
from ._watch import Watcher

__all__ = [
    "CHANGED",
    "KINDS",
    "Channel",
    "Event",
    "InProcessChannel",
    "Listener",
    "RedisChannel",
    "Revocations",
    "Watcher",
    "audience_notice",
    "changed",
    "channel_for",
    "events_prefix",
    "revoked",
]
