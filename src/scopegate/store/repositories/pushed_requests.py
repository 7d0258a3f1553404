"""Pushed authorization requests (RFC 9126): pushed → opened by a browser → used once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..db import Database
from ..models.pushed_requests import PushedRequest
from ._prune import delete_in_batch

__all__ = ["PushedRequestRecord", "PushedRequestRepository"]


@dataclass(frozen=True, slots=True)
class PushedRequestRecord:
    """An immutable copy of a pushed request's row."""

    request_hash: str
    client_id: str
    params: Mapping[str, str]
    expires_at: datetime
    used: bool

    @classmethod
    def from_row(cls, row: PushedRequest) -> PushedRequestRecord:
        """Snapshot an ORM row."""
        return cls(row.request_hash, row.client_id, dict(row.params), row.expires_at,
                   row.used_at is not None)


class PushedRequestRepository:
    """Pushed-request rows in one :class:`Database` (shared by every replica)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, request_hash: str, client_id: str, params: Mapping[str, str],
               expires_at: datetime) -> None:
        """Store a pushed request (by its ``request_uri``'s hash)."""
        with self.db.session() as session:
            session.add(PushedRequest(request_hash=request_hash, client_id=client_id,
                                      params=dict(params), expires_at=expires_at))

    def open(self, request_hash: str, now: datetime, window: timedelta
             ) -> PushedRequestRecord | None:
        """The request as it is now, None if unknown; the first opening (within the push's
        deadline) moves the deadline to ``now + window``: time for the sign-in pages."""
        pushed = PushedRequest
        with self.db.session() as session:
            session.execute(
                sa.update(pushed).where(pushed.request_hash == request_hash,
                                        pushed.started_at.is_(None),
                                        pushed.used_at.is_(None), pushed.expires_at > now)
                .values(started_at=now, expires_at=now + window))
            row = session.get(pushed, request_hash)
            return None if row is None else PushedRequestRecord.from_row(row)

    def use(self, request_hash: str, now: datetime) -> bool:
        """Mark the request used by one authorization; False if it already was or expired.

        Exactly one concurrent caller gets True: the UPDATE matches only an unused row.
        """
        pushed = PushedRequest
        with self.db.session() as session:
            result = session.execute(
                sa.update(pushed).where(pushed.request_hash == request_hash,
                                        pushed.used_at.is_(None), pushed.expires_at > now)
                .values(used_at=now))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def prune(self, older_than: datetime, limit: int | None = None) -> int:
        """Delete requests whose deadline passed before ``older_than``; return how many."""
        pushed = PushedRequest
        return delete_in_batch(self.db, pushed.request_hash, pushed.expires_at < older_than,
                               limit=limit)
