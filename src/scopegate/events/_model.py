"""What travels (an :class:`Event`) and what a replica keeps (:class:`Revocations`)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

__all__ = ["CHANGED", "KINDS", "Event", "Revocations", "changed", "revoked"]

# What a revocation keys on: the token's claim that carries it.
KINDS = ("jti", "key", "client", "sub", "sid")
CHANGED = "changed"  # a change notice: value names what changed ("client:<id>", "resources")


@dataclass(frozen=True, slots=True)
class Event:
    """One notice.

    :param kind: one of :data:`KINDS` (a revocation) or :data:`CHANGED`.
    :param value: the revoked id, or what changed.
    :param not_before: tokens issued before this time (epoch seconds) are denied; ``inf``
        denies every token carrying the id (a ``jti``, a revoked key).
    :param expires_at: when the revocation can be forgotten (every token it denies has
        expired by then); 0 for a change.
    :param sent_at: when it was published (the propagation delay is measured from it).
    """

    kind: str
    value: str
    not_before: float = math.inf
    expires_at: float = 0.0
    sent_at: float = 0.0

    @property
    def key(self) -> str:
        """The deny-list key, e.g. ``jti:abc``."""
        return f"{self.kind}:{self.value}"

    def encode(self) -> str:
        nb = None if math.isinf(self.not_before) else self.not_before
        return json.dumps({"k": self.kind, "v": self.value, "nb": nb,
                           "exp": self.expires_at, "at": self.sent_at})

    @classmethod
    def decode(cls, text: str | bytes) -> Event:
        data = json.loads(text)
        nb = data.get("nb")
        return cls(str(data["k"]), str(data["v"]), math.inf if nb is None else float(nb),
                   float(data.get("exp") or 0), float(data.get("at") or 0))


def revoked(kind: str, value: str, expires_at: float, *, not_before: float = math.inf) -> Event:
    """A revocation of ``kind:value`` until ``expires_at``."""
    if kind not in KINDS:
        raise ValueError(f"unknown revocation kind {kind!r}")
    return Event(kind, value, not_before, float(expires_at), time.time())


def changed(what: str) -> Event:
    """A change notice (``client:<id>``, ``clients``, ``resources``, ``keys``, ``catalog``,
    or :func:`audience_notice`)."""
    return Event(CHANGED, what, sent_at=time.time())


def audience_notice(resource: str) -> str:
    """What a change notice names when an operator switched ``resource``'s audience mode
    (its guards then ask the server at once; see ``guard/usage.py``)."""
    return f"audience:{resource}"


class Revocations:
    """The deny-list a replica keeps: key -> (not_before, expires_at).

    :meth:`denies` is the hot path of a guard cache hit: one truth test when nothing is
    revoked, else one dict lookup per key of the token.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, float]] = {}

    def add(self, event: Event) -> None:
        """Remember a revocation (the earliest cut-off wins over a later one)."""
        old = self._entries.get(event.key)
        if old is None or event.not_before > old[0] or event.expires_at > old[1]:
            nb = event.not_before if old is None else max(old[0], event.not_before)
            exp = event.expires_at if old is None else max(old[1], event.expires_at)
            self._entries[event.key] = (nb, exp)

    def denies(self, keys: tuple[str, ...], issued_at: float) -> bool:
        """Whether a token with these deny-list keys, issued at ``issued_at``, is revoked."""
        entries = self._entries
        if not entries:
            return False
        for key in keys:
            found = entries.get(key)
            if found is not None and issued_at < found[0]:
                return True
        return False

    def forget_expired(self, now: float | None = None) -> int:
        """Drop revocations whose tokens have all expired; return how many."""
        now = time.time() if now is None else now
        gone = [k for k, (_, exp) in self._entries.items() if exp <= now]
        for key in gone:
            del self._entries[key]
        return len(gone)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
