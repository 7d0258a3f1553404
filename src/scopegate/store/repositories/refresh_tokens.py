"""Refresh tokens: stored hashed, rotated on every use, revoked by family on reuse.

A refresh writes two rows: the UPDATE that marks the presented token rotated (it matches
only a live token, so two concurrent refreshes cannot both win) and the INSERT of its
successor, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...scopes import ScopeSet
from ..db import Database
from ..models import utcnow
from ..models.users import RefreshToken
from ._prune import delete_in_batch

__all__ = ["NewRefreshToken", "RefreshTokenRecord", "RefreshTokenRepository", "revoke_where"]

_MAX_REVOKE_PASSES = 16


@dataclass(frozen=True, slots=True)
class _FamilyMember:
    """What every refresh token of a family carries, stored or about to be."""

    token_hash: str
    family_id: str
    client_id: str
    user_id: str
    scopes: frozenset[str]
    resources: tuple[str, ...]
    auth_time: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord(_FamilyMember):
    """An immutable copy of a refresh-token row."""

    parent_hash: str | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    dpop_jkt: str | None = None  # the DPoP key the family is bound to (public clients)
    session_id: str | None = None  # the browser session the family was approved in

    @property
    def live(self) -> bool:
        """Neither rotated nor revoked (expiry is checked by the caller against its clock)."""
        return self.rotated_at is None and self.revoked_at is None

    @classmethod
    def from_row(cls, row: RefreshToken) -> RefreshTokenRecord:
        """Snapshot an ORM row."""
        return cls(token_hash=row.token_hash, family_id=row.family_id,
                   parent_hash=row.parent_hash, client_id=row.client_id, user_id=row.user_id,
                   scopes=frozenset(row.scopes), resources=tuple(row.resources),
                   auth_time=row.auth_time, expires_at=row.expires_at,
                   rotated_at=row.rotated_at, revoked_at=row.revoked_at,
                   dpop_jkt=row.dpop_jkt, session_id=row.session_id)


@dataclass(frozen=True, slots=True)
class NewRefreshToken(_FamilyMember):
    """What to store for a freshly minted refresh token."""

    access_jti: str | None = None
    access_expires_at: datetime | None = None
    dpop_jkt: str | None = None
    session_id: str | None = None  # the browser session the family was approved in

    def row(self, parent_hash: str | None) -> RefreshToken:
        """The ORM row for this token."""
        return RefreshToken(
            token_hash=self.token_hash, family_id=self.family_id, parent_hash=parent_hash,
            client_id=self.client_id, user_id=self.user_id, scopes=ScopeSet(self.scopes).to_list(),
            resources=list(self.resources), auth_time=self.auth_time,
            access_jti=self.access_jti, access_expires_at=self.access_expires_at,
            expires_at=self.expires_at, dpop_jkt=self.dpop_jkt, session_id=self.session_id)


class RefreshTokenRepository:
    """Refresh-token rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, token: NewRefreshToken) -> None:
        """Store the first token of a new family."""
        with self.db.session() as session:
            session.add(token.row(parent_hash=None))

    def get(self, token_hash: str) -> RefreshTokenRecord | None:
        """Return the token row, or None."""
        with self.db.session() as session:
            row = session.get(RefreshToken, token_hash)
            return RefreshTokenRecord.from_row(row) if row is not None else None

    def rotate(self, old_hash: str, new: NewRefreshToken,
               now: datetime | None = None) -> bool:
        """Retire ``old_hash`` and store its successor; False if it was no longer live."""
        now = now or utcnow()
        with self.db.session() as session:
            result = session.execute(
                sa.update(RefreshToken)
                .where(RefreshToken.token_hash == old_hash, RefreshToken.rotated_at.is_(None),
                       RefreshToken.revoked_at.is_(None))
                .values(rotated_at=now))
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            session.add(new.row(parent_hash=old_hash))
            return True

    def revoke_family(self, family_id: str,
                      now: datetime | None = None) -> list[tuple[str, datetime]]:
        """Revoke every token of a family; return the (jti, expiry) of its access tokens.

        The caller deny-lists those ids so the access tokens die with the family.
        """
        with self.db.session() as session:
            return revoke_where(session, RefreshToken.family_id == family_id, now or utcnow())

    def family(self, family_id: str) -> list[RefreshTokenRecord]:
        """Every token of a family, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(RefreshToken)
                                   .where(RefreshToken.family_id == family_id)
                                   .order_by(RefreshToken.created_at))
            return [RefreshTokenRecord.from_row(r) for r in rows]

    def prune(self, older_than: datetime, limit: int | None = None) -> int:
        """Delete tokens that expired before ``older_than``; return how many (at most
        ``limit``).

        A family's tokens expire in the order they were issued, so this deletes expired
        families whole, and the rotated tokens of a live family once they are past their
        own expiry. Reuse of a rotated token is detected for as long as that token could
        have been used; keeping it longer would grow a family by one row per refresh.
        """
        return delete_in_batch(self.db, RefreshToken.token_hash,
                               RefreshToken.expires_at < older_than, limit=limit)


def revoke_where(session: Session, condition: sa.ColumnElement[bool],
                 now: datetime) -> list[tuple[str, datetime]]:
    """Revoke the refresh tokens matching ``condition`` in ``session`` (a transaction);
    return the (jti, expiry) of every access token issued with them."""
    revoke = (sa.update(RefreshToken).where(condition, RefreshToken.revoked_at.is_(None))
              .values(revoked_at=now))
    # Under READ COMMITTED (PostgreSQL) one UPDATE cannot see a successor that a
    # concurrent refresh inserts while we wait for its lock on the parent row; a
    # new statement sees it once that refresh commits. Repeat until none is left.
    for _ in range(_MAX_REVOKE_PASSES):
        if not session.execute(revoke).rowcount:  # type: ignore[attr-defined]
            break
    rows = session.execute(
        sa.select(RefreshToken.access_jti, RefreshToken.access_expires_at)
        .where(condition, RefreshToken.access_jti.is_not(None)))
    return [(jti, exp) for jti, exp in rows if jti is not None and exp is not None]
