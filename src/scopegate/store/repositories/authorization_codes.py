"""Authorization codes: stored hashed, consumed exactly once (one atomic UPDATE).

Replays and the exchange that first consumed a code meet on the code's row: a replay
sets ``replayed_at``, and the exchange records what it minted only while ``replayed_at``
is unset (:meth:`AuthorizationCodeRepository.record_tokens`). Both are single UPDATEs of
one row, so the database orders them and whichever comes second sees the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ...scopes import ScopeSet
from ..db import Database
from ..models import utcnow
from ..models.users import AuthorizationCode
from ._prune import delete_in_batch

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
    replayed_at: datetime | None
    refresh_family_id: str | None
    access_jti: str | None
    access_expires_at: datetime | None
    session_id: str | None = None

    @classmethod
    def from_row(cls, row: AuthorizationCode) -> AuthorizationCodeRecord:
        """Snapshot an ORM row."""
        return cls(row.code_hash, row.client_id, row.user_id, row.redirect_uri,
                   frozenset(row.scopes), tuple(row.resources), row.code_challenge,
                   row.code_challenge_method, row.nonce, row.auth_time, row.expires_at,
                   row.used_at, row.replayed_at, row.refresh_family_id, row.access_jti,
                   row.access_expires_at, row.session_id)


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
               expires_at: datetime, session_id: str | None = None) -> None:
        """Store a new code (by its hash); ``session_id`` is the approving session."""
        with self.db.session() as session:
            session.add(AuthorizationCode(
                code_hash=code_hash, client_id=client_id, user_id=user_id,
                redirect_uri=redirect_uri, scopes=ScopeSet(scopes).to_list(),
                resources=list(resources), code_challenge=code_challenge,
                code_challenge_method=code_challenge_method, nonce=nonce,
                auth_time=auth_time, expires_at=expires_at, session_id=session_id))

    def consume(self, code_hash: str, now: datetime | None = None) -> CodeConsumption | None:
        """Mark the code used, or replayed if it already was; None if it never existed.

        Exactly one concurrent caller sees ``first_use=True``: the UPDATE only matches an
        unused row, and the database serializes writers on that row. Every later caller
        sets ``replayed_at`` (kept at the first replay) and reads what was recorded.
        """
        now = now or utcnow()
        code = AuthorizationCode
        with self.db.session() as session:
            result = session.execute(
                sa.update(code).where(code.code_hash == code_hash, code.used_at.is_(None))
                .values(used_at=now))
            first = bool(result.rowcount)  # type: ignore[attr-defined]
            if not first:
                session.execute(
                    sa.update(code).where(code.code_hash == code_hash)
                    .values(replayed_at=sa.func.coalesce(code.replayed_at, now)))
            row = session.get(code, code_hash)
            if row is None:
                return None
            return CodeConsumption(AuthorizationCodeRecord.from_row(row), first)

    def record_tokens(self, code_hash: str, *, refresh_family_id: str | None,
                      access_jti: str | None, access_expires_at: datetime | None) -> bool:
        """Remember what was minted from a code, so a later replay can revoke it.

        :returns: False when the code was replayed first: nothing is recorded and the
            caller must revoke what it minted (the replay found nothing to revoke).
        """
        code = AuthorizationCode
        with self.db.session() as session:
            result = session.execute(
                sa.update(code).where(code.code_hash == code_hash, code.replayed_at.is_(None))
                .values(refresh_family_id=refresh_family_id, access_jti=access_jti,
                        access_expires_at=access_expires_at))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def prune(self, older_than: datetime, limit: int | None = None) -> int:
        """Delete codes that expired before ``older_than``; return how many.

        A used code is kept while the access token minted from it is still valid, so a
        late replay still revokes it. ``limit`` caps the rows deleted in one call.
        """
        code = AuthorizationCode
        return delete_in_batch(
            self.db, code.code_hash, code.expires_at < older_than,
            sa.or_(code.access_expires_at.is_(None), code.access_expires_at < older_than),
            limit=limit)
