"""The deny-list of revoked JWT ids (``jti``), kept until each token's expiry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..models import RevokedToken, utcnow
from ._prune import delete_in_batch

__all__ = ["RevocationRepository", "deny_in"]


class RevocationRepository:
    """Revoked token ids in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def revoke(self, jti: str, expires_at: datetime) -> None:
        """Deny ``jti`` until ``expires_at`` (revoking twice is fine)."""
        try:
            with self.db.session() as session:
                if session.get(RevokedToken, jti) is None:
                    session.add(RevokedToken(jti=jti, expires_at=expires_at))
        except IntegrityError:
            pass  # revoked concurrently by another request: the outcome is the same

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is on the deny-list."""
        with self.db.session() as session:
            return session.get(RevokedToken, jti) is not None

    def active(self, now: datetime | None = None) -> dict[str, datetime]:
        """Every revoked id whose token has not expired yet (to warm a memory cache)."""
        now = now or utcnow()
        with self.db.session() as session:
            rows = session.scalars(sa.select(RevokedToken).where(RevokedToken.expires_at > now))
            return {row.jti: row.expires_at for row in rows}

    def prune(self, now: datetime | None = None, limit: int | None = None) -> int:
        """Forget ids whose tokens have expired; return how many (at most ``limit``)."""
        now = now or utcnow()
        return delete_in_batch(self.db, RevokedToken.jti, RevokedToken.expires_at <= now,
                               limit=limit)


def deny_in(session: Session, pairs: Iterable[tuple[str, datetime]]) -> None:
    """Deny each (jti, expiry) within ``session``'s transaction; one already denied (even
    concurrently) is left as it is, so the transaction never fails on it."""
    rows = [{"jti": jti, "expires_at": exp} for jti, exp in dict(pairs).items()]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(RevokedToken).values(rows).on_conflict_do_nothing())
