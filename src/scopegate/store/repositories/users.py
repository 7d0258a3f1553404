"""Users and their remembered consents (workspaces and memberships: :mod:`.workspaces`).

Emails are compared case-insensitively (stored lower-cased and stripped). Scopes handed
in must already be canonical names (the caller asked the catalog).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...scopes import ScopeSet
from ..db import Database
from ..models import utcnow
from ..models.clients import Client
from ..models.sessions import UserSession
from ..models.users import Consent, User
from ._unique import AlreadyExists, new_id

__all__ = [
    "AlreadyExists",
    "ConsentRepository",
    "UserRecord",
    "UserRepository",
    "new_id",
    "normalize_email",
]

MAX_EMAIL_LENGTH = 320


def normalize_email(email: str) -> str:
    """Return the stored form of an email address.

    :raises ValueError: it is not a plausible address.
    """
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if (not local or not domain or "." not in domain or len(value) > MAX_EMAIL_LENGTH
            or any(c.isspace() for c in value) or value.count("@") != 1):
        raise ValueError(f"not an email address: {email!r}")
    return value


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An immutable copy of a user row (the hash never shows in ``repr``)."""

    id: str
    email: str
    name: str | None
    role: str
    created_at: datetime
    password_hash: str = field(repr=False)
    disabled_at: datetime | None = None
    is_operator: bool = False

    @property
    def disabled(self) -> bool:
        """Whether an admin disabled the user (no sign-in, no tokens)."""
        return self.disabled_at is not None

    @classmethod
    def from_row(cls, row: User) -> UserRecord:
        """Snapshot an ORM row."""
        return cls(row.id, row.email, row.name, row.role, row.created_at, row.password_hash,
                   row.disabled_at, bool(row.is_operator))


class UserRepository:
    """User rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, email: str, password_hash: str, role: str,
               name: str | None = None, is_operator: bool = False) -> UserRecord:
        """Insert a user.

        :raises ValueError: the email is malformed.
        :raises AlreadyExists: the email is taken.
        """
        row = User(id=new_id("usr"), email=normalize_email(email), name=name,
                   password_hash=password_hash, role=role, is_operator=is_operator)
        try:
            with self.db.session() as session:
                session.add(row)
                session.flush()
                return UserRecord.from_row(row)
        except IntegrityError:
            raise AlreadyExists(f"a user with email {row.email} exists") from None

    def get(self, user_id: str) -> UserRecord | None:
        """Return the user, or None."""
        with self.db.session() as session:
            row = session.get(User, user_id)
            return UserRecord.from_row(row) if row is not None else None

    def by_email(self, email: str) -> UserRecord | None:
        """Return the user with this email (any case), or None."""
        try:
            value = normalize_email(email)
        except ValueError:
            return None
        with self.db.session() as session:
            row = session.scalars(sa.select(User).where(User.email == value)).first()
            return UserRecord.from_row(row) if row is not None else None

    def list(self) -> list[UserRecord]:
        """Every user, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(User).order_by(User.created_at, User.id))
            return [UserRecord.from_row(row) for row in rows]

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace a user's password hash with a rehash of the same password (sessions stay).

        A new password goes through :meth:`change_password`, which signs the user out.
        """
        with self.db.session() as session:
            session.execute(sa.update(User).where(User.id == user_id)
                            .values(password_hash=password_hash))

    def change_password(self, user_id: str, password_hash: str) -> int:
        """Set a new password and end every session of the user, in one transaction.

        :returns: how many browser sessions ended.
        """
        with self.db.session() as session:
            session.execute(sa.update(User).where(User.id == user_id)
                            .values(password_hash=password_hash))
            return _end_sessions(session, user_id)

    def set_disabled(self, user_id: str, disabled: bool, now: datetime | None = None) -> int:
        """Disable a user (ending every session of theirs) or enable them again.

        :returns: how many browser sessions ended (0 when enabling).
        """
        with self.db.session() as session:
            session.execute(sa.update(User).where(User.id == user_id).values(
                disabled_at=(now or utcnow()) if disabled else None))
            return _end_sessions(session, user_id) if disabled else 0


def _end_sessions(session: Session, user_id: str) -> int:
    result = session.execute(sa.delete(UserSession).where(UserSession.user_id == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


class ConsentRepository:
    """What each user has granted each client so far."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def granted(self, user_id: str, client_id: str) -> frozenset[str]:
        """The canonical scopes the user already granted this client (empty if none)."""
        with self.db.session() as session:
            row = session.get(Consent, (user_id, client_id))
            return frozenset(row.scopes) if row is not None else frozenset()

    def grant(self, user_id: str, client_id: str, scopes: Iterable[str]) -> frozenset[str]:
        """Remember that the user granted ``scopes``; return the whole remembered set."""
        for _ in range(2):  # one retry if another request inserted the row first
            try:
                with self.db.session() as session:
                    row = session.get(Consent, (user_id, client_id), with_for_update=True)
                    if row is None:
                        merged = ScopeSet(scopes).to_list()
                        session.add(Consent(user_id=user_id, client_id=client_id,
                                            scopes=merged, updated_at=utcnow()))
                    else:
                        merged = ScopeSet([*row.scopes, *scopes]).to_list()
                        row.scopes = merged
                        row.updated_at = utcnow()
                    return frozenset(merged)
            except IntegrityError:
                continue
        raise RuntimeError("could not record consent")  # pragma: no cover

    def revoke(self, user_id: str, client_id: str) -> bool:
        """Forget a user's consent for a client; return whether there was one."""
        with self.db.session() as session:
            result = session.execute(sa.delete(Consent).where(
                Consent.user_id == user_id, Consent.client_id == client_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def prune_orphans(self, limit: int | None = None) -> int:
        """Delete consents whose user or client no longer exists; return how many.

        Foreign keys cascade such deletes, so orphans only appear when a row was deleted
        with foreign keys off (SQLite opened by another tool, a partial restore).
        ``limit`` caps the rows deleted in one call.
        """
        user = sa.select(User.id).where(User.id == Consent.user_id)
        client = sa.select(Client.client_id).where(Client.client_id == Consent.client_id)
        orphans = sa.select(Consent.user_id, Consent.client_id).where(
            sa.or_(~user.exists(), ~client.exists()))
        if limit is not None:
            orphans = orphans.limit(limit)
        with self.db.session() as session:
            result = session.execute(sa.delete(Consent).where(
                sa.tuple_(Consent.user_id, Consent.client_id).in_(orphans)).execution_options(
                    synchronize_session=False))
            return int(result.rowcount)  # type: ignore[attr-defined]

