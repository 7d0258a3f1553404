"""Browser sessions: start, find (with their user, one indexed read), touch, end, prune.

Lookups go by the token's SHA-256 digest (unique index); the raw token never reaches
the database. Whether a session is still live under the idle and absolute lifetimes is
the server's decision (:mod:`scopegate.server.pages.sessions`); rows only carry the times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..db import Database
from ..models import utcnow
from ..models.sessions import UserSession
from ..models.users import AuthorizationCode, DeviceCode, RefreshToken, User
from ._prune import delete_in_batch
from ._unique import new_id
from .refresh_tokens import revoke_where
from .revocations import deny_in
from .users import UserRecord

__all__ = ["NewSession", "SessionRecord", "SessionRepository"]

MAX_USER_AGENT_LENGTH = 200


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """An immutable copy of a session row (never the token or its digest)."""

    id: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_ip: str | None
    user_agent: str | None

    @classmethod
    def from_row(cls, row: UserSession) -> SessionRecord:
        """Snapshot an ORM row."""
        return cls(row.id, row.user_id, row.created_at, row.last_seen_at, row.expires_at,
                   row.client_ip, row.user_agent)


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a login records: the token digest, who, when, until when, and from where."""

    token_hash: str
    user_id: str
    now: datetime
    expires_at: datetime
    client_ip: str | None = None
    user_agent: str | None = None


class SessionRepository:
    """Session rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, new: NewSession, replaces: str | None = None) -> SessionRecord:
        """Record a signed-in browser; ``replaces`` (a token digest) ends its old session."""
        agent = (new.user_agent or "")[:MAX_USER_AGENT_LENGTH] or None
        row = UserSession(id=new_id("ses"), token_hash=new.token_hash, user_id=new.user_id,
                          created_at=new.now, last_seen_at=new.now, expires_at=new.expires_at,
                          client_ip=new.client_ip, user_agent=agent)
        with self.db.session() as session:
            if replaces is not None:
                session.execute(sa.delete(UserSession)
                                .where(UserSession.token_hash == replaces))
            session.add(row)
            session.flush()
            return SessionRecord.from_row(row)

    def find(self, token_hash: str) -> tuple[SessionRecord, UserRecord] | None:
        """The session a cookie's token names and its user, or None (one indexed read)."""
        with self.db.session() as session:
            found = session.execute(
                sa.select(UserSession, User).join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == token_hash)).first()
            if found is None:
                return None
            return SessionRecord.from_row(found[0]), UserRecord.from_row(found[1])

    def touch(self, session_id: str, now: datetime, expires_at: datetime) -> bool:
        """Record activity: move ``last_seen_at`` and the deadline; False if it ended."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(UserSession).where(UserSession.id == session_id)
                .values(last_seen_at=now, expires_at=expires_at))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def end(self, token_hash: str) -> bool:
        """End the session a token names (logout); False if there was none."""
        with self.db.session() as session:
            result = session.execute(
                sa.delete(UserSession).where(UserSession.token_hash == token_hash))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def end_for_user(self, user_id: str, session_id: str | None = None) -> int:
        """End one of a user's sessions (by id), or all of them; return how many ended."""
        condition = UserSession.user_id == user_id
        if session_id is not None:
            condition = sa.and_(condition, UserSession.id == session_id)
        with self.db.session() as session:
            result = session.execute(sa.delete(UserSession).where(condition))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def end_with_grants(self, user_id: str, session_id: str,
                        now: datetime | None = None) -> list[tuple[str, datetime]] | None:
        """End one of a user's sessions and what was approved in it, in one transaction.

        Its refresh families are revoked; the access tokens issued with them or from its
        codes that are still valid are deny-listed (returned as (jti, expiry)); its codes
        not yet exchanged and device approvals not yet collected are deleted, so nothing
        more is minted from it. None (nothing changed) if it was not the user's session.
        """
        when = now or utcnow()
        with self.db.session() as session:
            ended = session.execute(sa.delete(UserSession).where(
                UserSession.user_id == user_id, UserSession.id == session_id))
            if not ended.rowcount:  # type: ignore[attr-defined]
                return None
            session.execute(sa.delete(AuthorizationCode).where(
                AuthorizationCode.session_id == session_id, AuthorizationCode.used_at.is_(None)))
            session.execute(sa.delete(DeviceCode).where(
                DeviceCode.session_id == session_id, DeviceCode.status == "approved"))
            code = AuthorizationCode  # a client without refresh tokens: the code's token
            minted = session.execute(sa.select(code.access_jti, code.access_expires_at).where(
                code.session_id == session_id, code.access_jti.is_not(None))).tuples().all()
            denied = [(jti, exp) for jti, exp in
                      [*minted, *revoke_where(session, RefreshToken.session_id == session_id,
                                              when)]
                      if jti is not None and exp is not None and exp > when]
            deny_in(session, denied)
            return denied

    def for_user(self, user_id: str, now: datetime | None = None) -> list[SessionRecord]:
        """A user's unexpired sessions, oldest first."""
        when = now or utcnow()
        with self.db.session() as session:
            rows = session.scalars(
                sa.select(UserSession)
                .where(UserSession.user_id == user_id, UserSession.expires_at > when)
                .order_by(UserSession.created_at, UserSession.id))
            return [SessionRecord.from_row(row) for row in rows]

    def prune(self, now: datetime, limit: int | None = None) -> int:
        """Delete sessions whose deadline passed before ``now``; return how many.

        ``limit`` caps the rows deleted in one call (one short transaction).
        """
        return delete_in_batch(self.db, UserSession.id, UserSession.expires_at < now,
                               limit=limit)
