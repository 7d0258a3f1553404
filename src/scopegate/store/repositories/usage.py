"""Usage counts reported by guards, and the audience mode chosen per resource.

Counts are added by upsert (``INSERT … ON CONFLICT DO UPDATE``, on SQLite and PostgreSQL
alike), so reports from many guard replicas in the same hour add up in one row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..db import Database
from ..models import AudienceModeChoice, UsageCount

__all__ = ["AudienceModes", "CallerSeen", "UsageRepository", "UsageRow"]

_BUCKET = ("resource", "hour", "client_id", "key_id", "sdk", "sdk_version", "audience_ok",
           "scopes")


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One aggregated count from a guard's report (scopes: the route's needs, space-joined)."""

    client_id: str
    key_id: str
    sdk: str
    sdk_version: str
    audience_ok: bool
    scopes: str
    count: int


@dataclass(frozen=True, slots=True)
class CallerSeen:
    """A client and SDK version seen calling a resource: how often (and how often without
    the audience), and when last."""

    client_id: str
    sdk: str
    sdk_version: str
    count: int
    missing: int
    last_seen: datetime


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class UsageRepository:
    """Usage rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, resource: str, rows: Iterable[UsageRow], at: datetime) -> int:
        """Add ``rows`` to the hour of ``at``, in one transaction; return how many rows."""
        values = [{"resource": resource, "hour": hour_of(at), "client_id": row.client_id,
                   "key_id": row.key_id, "sdk": row.sdk, "sdk_version": row.sdk_version,
                   "audience_ok": row.audience_ok, "scopes": row.scopes, "count": row.count,
                   "last_seen": at} for row in rows]
        if not values:
            return 0
        with self.db.session() as session:
            dialect = session.get_bind().dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(UsageCount)
            session.execute(insert.on_conflict_do_update(
                index_elements=list(_BUCKET),
                set_={"count": UsageCount.count + insert.excluded.count,
                      "last_seen": insert.excluded.last_seen}), values)
        return len(values)

    def missing_by_hour(self, resource: str, since: datetime) -> dict[datetime, int]:
        """Requests without the audience per hour since ``since`` (hours with none left out)."""
        query = (sa.select(UsageCount.hour, sa.func.sum(UsageCount.count))
                 .where(UsageCount.resource == resource, UsageCount.hour >= hour_of(since),
                        UsageCount.audience_ok.is_(False))
                 .group_by(UsageCount.hour))
        with self.db.session() as session:
            return {hour: int(total) for hour, total in session.execute(query)}

    def callers(self, resource: str, since: datetime) -> list[CallerSeen]:
        """Every client and SDK version that called ``resource`` since ``since``: those
        that sent tokens without the audience first, then by last seen."""
        missing = sa.func.sum(sa.case((UsageCount.audience_ok.is_(False), UsageCount.count),
                                      else_=0))
        query = (sa.select(UsageCount.client_id, UsageCount.sdk, UsageCount.sdk_version,
                           sa.func.sum(UsageCount.count), missing,
                           sa.func.max(UsageCount.last_seen))
                 .where(UsageCount.resource == resource, UsageCount.hour >= hour_of(since))
                 .group_by(UsageCount.client_id, UsageCount.sdk, UsageCount.sdk_version))
        with self.db.session() as session:
            seen = [CallerSeen(client, sdk, version, int(n), int(gap), last)
                    for client, sdk, version, n, gap, last in session.execute(query)]
        return sorted(seen, key=lambda c: (c.missing == 0, -c.last_seen.timestamp()))

    def total(self, resource: str, since: datetime) -> int:
        """Every reported request for ``resource`` since ``since``, audience or not."""
        query = (sa.select(sa.func.coalesce(sa.func.sum(UsageCount.count), 0))
                 .where(UsageCount.resource == resource, UsageCount.hour >= hour_of(since)))
        with self.db.session() as session:
            return int(session.scalar(query) or 0)

    def resources(self) -> list[str]:
        """Every resource a guard ever reported."""
        with self.db.session() as session:
            return list(session.scalars(sa.select(UsageCount.resource).distinct()
                                        .order_by(UsageCount.resource)))

    def scopes_used(self, since: datetime) -> dict[tuple[str, str], set[str]]:
        """The scopes routes needed since ``since``, by ``(client_id, key_id)`` (key_id "":
        the client's own tokens)."""
        query = (sa.select(UsageCount.client_id, UsageCount.key_id, UsageCount.scopes)
                 .where(UsageCount.hour >= hour_of(since)).distinct())
        used: dict[tuple[str, str], set[str]] = {}
        with self.db.session() as session:
            for client_id, key_id, scopes in session.execute(query):
                used.setdefault((client_id, key_id), set()).update(scopes.split())
        return used

    def prune(self, before: datetime, limit: int | None = None) -> int:
        """Delete counts of hours before ``before`` (at most ``limit`` rows); return how many."""
        old = sa.select(UsageCount.id).where(UsageCount.hour < before)
        if limit is not None:
            old = old.limit(limit)
        with self.db.session() as session:
            result = session.execute(sa.delete(UsageCount).where(UsageCount.id.in_(old))
                                     .execution_options(synchronize_session=False))
            return int(result.rowcount)  # type: ignore[attr-defined]


class AudienceModes:
    """The operator's audience mode per resource."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, resource: str) -> str | None:
        with self.db.session() as session:
            row = session.get(AudienceModeChoice, resource)
            return row.mode if row is not None else None

    def all(self) -> dict[str, str]:
        with self.db.session() as session:
            return {row.resource: row.mode for row in session.scalars(
                sa.select(AudienceModeChoice))}

    def set(self, resource: str, mode: str, changed_by: str | None, at: datetime) -> None:
        with self.db.session() as session:
            row = session.get(AudienceModeChoice, resource)
            if row is None:
                session.add(AudienceModeChoice(resource=resource, mode=mode, changed_at=at,
                                               changed_by=changed_by))
            else:
                row.mode, row.changed_at, row.changed_by = mode, at, changed_by


