"""Authorization codes: stored hashed, consumed exactly once (one atomic UPDATE)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..db import Database
from ..models import utcnow
from ..models.users import AuthorizationCode

__all__ = ["AuthorizationCodeRecord", "AuthorizationCodeRepository", "CodeConsumption"]


@dataclass(frozen=True, slots=True)
class AuthorizationCodeRecord:
    """An immutable copy of an authorization-code row."""

    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: frozenset[str]
    resources: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    auth_time: datetime
    expires_at: datetime
    used_at: datetime | None
    refresh_family_id: str | None
    access_jti: str | None
    access_expires_at: datetime | None

    @classmethod
    def from_row(cls, row: AuthorizationCode) -> AuthorizationCodeRecord:
        """Snapshot an ORM row."""
        return cls(row.code_hash, row.client_id, row.user_id, row.redirect_uri,
                   frozenset(row.scopes), tuple(row.resources), row.code_challenge,
                   row.code_challenge_method, row.nonce, row.auth_time, row.expires_at,
                   row.used_at, row.refresh_family_id, row.access_jti, row.access_expires_at)


@dataclass(frozen=True, slots=True)
class CodeConsumption:
    """The outcome of presenting a code: the row, and whether this was its first use."""

    record: AuthorizationCodeRecord
    first_use: bool


class AuthorizationCodeRepository:
    """Authorization-code rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, code_hash: str, client_id: str, user_id: str, redirect_uri: str,
               scopes: Iterable[str], resources: Iterable[str], code_challenge: str,
               code_challenge_method: str, nonce: str | None, auth_time: datetime,
               expires_at: datetime) -> None:
        """Store a new code (by its hash)."""
        with self.db.session() as session:
            session.add(AuthorizationCode(
                code_hash=code_hash, client_id=client_id, user_id=user_id,
                redirect_uri=redirect_uri, scopes=sorted(set(scopes)),
                resources=list(resources), code_challenge=code_challenge,
                code_challenge_method=code_challenge_method, nonce=nonce,
                auth_time=auth_time, expires_at=expires_at))

    def consume(self, code_hash: str, now: datetime | None = None) -> CodeConsumption | None:
        """Mark the code used; None if it never existed.

        Exactly one concurrent caller sees ``first_use=True``: the UPDATE only matches an
        unused row, and the database serializes writers on that row.
        """
        now = now or utcnow()
        with self.db.session() as session:
            result = session.execute(
                sa.update(AuthorizationCode)
                .where(AuthorizationCode.code_hash == code_hash,
                       AuthorizationCode.used_at.is_(None))
                .values(used_at=now))
            first = bool(result.rowcount)  # type: ignore[attr-defined]
            row = session.get(AuthorizationCode, code_hash)
            if row is None:
                return None
            return CodeConsumption(AuthorizationCodeRecord.from_row(row), first)

    def record_tokens(self, code_hash: str, *, refresh_family_id: str | None,
                      access_jti: str, access_expires_at: datetime) -> None:
        """Remember what was minted from a code, so a replay can revoke it."""
        with self.db.session() as session:
            session.execute(
                sa.update(AuthorizationCode).where(AuthorizationCode.code_hash == code_hash)
                .values(refresh_family_id=refresh_family_id, access_jti=access_jti,
                        access_expires_at=access_expires_at))

    def prune(self, older_than: datetime) -> int:
        """Delete codes that expired before ``older_than``; return how many."""
        with self.db.session() as session:
            result = session.execute(sa.delete(AuthorizationCode).where(
                AuthorizationCode.expires_at < older_than))
            return int(result.rowcount)  # type: ignore[attr-defined]
