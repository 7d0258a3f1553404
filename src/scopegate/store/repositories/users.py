"""Users, workspaces, memberships and remembered consents.

Emails are compared case-insensitively (stored lower-cased and stripped). Scopes handed
in must already be canonical names (the caller asked the catalog).
"""

from __future__ import annotations

import secrets
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
from ..models.users import Consent, Membership, User, Workspace

__all__ = [
    "AlreadyExists",
    "ConsentRepository",
    "MembershipRecord",
    "UserRecord",
    "UserRepository",
    "WorkspaceRecord",
    "WorkspaceRepository",
    "new_id",
    "normalize_email",
]

MAX_EMAIL_LENGTH = 320


class AlreadyExists(ValueError):
    """A unique name (email, workspace name) is taken."""


def new_id(prefix: str) -> str:
    """Return an opaque primary key such as ``usr_3f9a…`` (96 random bits)."""
    return f"{prefix}_{secrets.token_hex(12)}"


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

    @property
    def disabled(self) -> bool:
        """Whether an admin disabled the user (no sign-in, no tokens)."""
        return self.disabled_at is not None

    @classmethod
    def from_row(cls, row: User) -> UserRecord:
        """Snapshot an ORM row."""
        return cls(row.id, row.email, row.name, row.role, row.created_at, row.password_hash,
                   row.disabled_at)


@dataclass(frozen=True, slots=True)
class WorkspaceRecord:
    """An immutable copy of a workspace row."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    """A user's role in a workspace."""

    user_id: str
    workspace_id: str
    role: str


class UserRepository:
    """User rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, email: str, password_hash: str, role: str,
               name: str | None = None) -> UserRecord:
        """Insert a user.

        :raises ValueError: the email is malformed.
        :raises AlreadyExists: the email is taken.
        """
        row = User(id=new_id("usr"), email=normalize_email(email), name=name,
                   password_hash=password_hash, role=role)
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


class WorkspaceRepository:
    """Workspaces and their memberships."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str) -> WorkspaceRecord:
        """Insert a workspace.

        :raises ValueError: the name is empty or longer than 100 characters.
        :raises AlreadyExists: the name is taken.
        """
        clean = name.strip()
        if not clean or len(clean) > 100:
            raise ValueError("a workspace name has 1 to 100 characters")
        row = Workspace(id=new_id("ws"), name=clean)
        try:
            with self.db.session() as session:
                session.add(row)
                session.flush()
                return WorkspaceRecord(row.id, row.name, row.created_at)
        except IntegrityError:
            raise AlreadyExists(f"a workspace named {clean!r} exists") from None

    def by_name(self, name: str) -> WorkspaceRecord | None:
        """Return the workspace with this name, or None."""
        with self.db.session() as session:
            row = session.scalars(sa.select(Workspace).where(Workspace.name == name.strip())
                                  ).first()
            return WorkspaceRecord(row.id, row.name, row.created_at) if row else None

    def add_member(self, workspace_id: str, user_id: str, role: str) -> MembershipRecord:
        """Add a user to a workspace, or change their role there."""
        with self.db.session() as session:
            row = session.get(Membership, (user_id, workspace_id))
            if row is None:
                session.add(Membership(user_id=user_id, workspace_id=workspace_id, role=role))
            else:
                row.role = role
        return MembershipRecord(user_id, workspace_id, role)

    def memberships(self, user_id: str) -> list[MembershipRecord]:
        """The workspaces a user belongs to."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(Membership).where(Membership.user_id == user_id)
                                   .order_by(Membership.workspace_id))
            return [MembershipRecord(r.user_id, r.workspace_id, r.role) for r in rows]

    def members(self, workspace_id: str) -> list[MembershipRecord]:
        """The members of a workspace."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(Membership)
                                   .where(Membership.workspace_id == workspace_id)
                                   .order_by(Membership.user_id))
            return [MembershipRecord(r.user_id, r.workspace_id, r.role) for r in rows]

    def list(self) -> list[WorkspaceRecord]:
        """Every workspace, by name."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(Workspace).order_by(Workspace.name))
            return [WorkspaceRecord(r.id, r.name, r.created_at) for r in rows]


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
