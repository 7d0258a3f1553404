"""Device authorizations (RFC 8628): pending → approved/denied → consumed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from ...scopes import ScopeSet
from ..db import Database
from ..models import utcnow
from ..models.users import DeviceCode
from ._prune import delete_in_batch

__all__ = ["DeviceCodeRecord", "DeviceCodeRepository", "DeviceStatus", "PollOutcome"]

DeviceStatus = Literal["pending", "approved", "denied", "consumed"]
SLOW_DOWN_STEP_S = 5  # RFC 8628 §3.5


@dataclass(frozen=True, slots=True)
class DeviceCodeRecord:
    """An immutable copy of a device-code row."""

    device_code_hash: str
    user_code_hash: str
    client_id: str
    scopes: frozenset[str]
    resources: tuple[str, ...]
    status: str
    user_id: str | None
    auth_time: datetime | None
    interval: int
    last_polled_at: datetime | None
    expires_at: datetime
    session_id: str | None = None

    @classmethod
    def from_row(cls, row: DeviceCode) -> DeviceCodeRecord:
        """Snapshot an ORM row."""
        return cls(row.device_code_hash, row.user_code_hash, row.client_id,
                   frozenset(row.scopes), tuple(row.resources), row.status, row.user_id,
                   row.auth_time, row.interval, row.last_polled_at, row.expires_at,
                   row.session_id)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll: the row as it is now, and whether it came faster than the interval."""

    record: DeviceCodeRecord
    too_fast: bool


class DeviceCodeRepository:
    """Device-code rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, device_code_hash: str, user_code_hash: str, client_id: str,
               scopes: Iterable[str], resources: Iterable[str], interval: int,
               expires_at: datetime) -> None:
        """Store a new pending authorization."""
        with self.db.session() as session:
            session.add(DeviceCode(
                device_code_hash=device_code_hash, user_code_hash=user_code_hash,
                client_id=client_id, scopes=ScopeSet(scopes).to_list(), resources=list(resources),
                status="pending", interval=interval, expires_at=expires_at))

    def by_user_code(self, user_code_hash: str) -> DeviceCodeRecord | None:
        """Return the authorization a person's code names, or None."""
        with self.db.session() as session:
            row = session.scalars(sa.select(DeviceCode).where(
                DeviceCode.user_code_hash == user_code_hash)).first()
            return DeviceCodeRecord.from_row(row) if row is not None else None

    def decide(self, user_code_hash: str, *, user_id: str, approve: bool,
               auth_time: datetime, session_id: str | None = None,
               now: datetime | None = None) -> bool:
        """Approve or deny a pending, unexpired authorization in the browser session
        ``session_id``; False if it was not pending."""
        now = now or utcnow()
        with self.db.session() as session:
            result = session.execute(
                sa.update(DeviceCode)
                .where(DeviceCode.user_code_hash == user_code_hash,
                       DeviceCode.status == "pending", DeviceCode.expires_at > now)
                .values(status="approved" if approve else "denied", user_id=user_id,
                        auth_time=auth_time, session_id=session_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def poll(self, device_code_hash: str, now: datetime | None = None) -> PollOutcome | None:
        """Record a poll; a poll sooner than the interval raises the interval by 5 s."""
        now = now or utcnow()
        with self.db.session() as session:
            row = session.get(DeviceCode, device_code_hash, with_for_update=True)
            if row is None:
                return None
            last = row.last_polled_at
            too_fast = last is not None and now - last < timedelta(seconds=row.interval)
            if too_fast:
                row.interval += SLOW_DOWN_STEP_S
            row.last_polled_at = now
            session.flush()
            return PollOutcome(DeviceCodeRecord.from_row(row), too_fast)

    def consume(self, device_code_hash: str) -> bool:
        """Mark an approved authorization as used; True for exactly one caller."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(DeviceCode)
                .where(DeviceCode.device_code_hash == device_code_hash,
                       DeviceCode.status == "approved")
                .values(status="consumed"))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def prune(self, older_than: datetime, limit: int | None = None) -> int:
        """Delete authorizations that expired before ``older_than``; return how many.

        ``limit`` caps the rows deleted in one call (one short transaction).
        """
        return delete_in_batch(self.db, DeviceCode.device_code_hash,
                               DeviceCode.expires_at < older_than, limit=limit)
