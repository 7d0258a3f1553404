"""Workspaces (tenants) and their memberships: which user holds which role where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..models.users import Membership, Workspace
from ._unique import AlreadyExists, new_id

__all__ = ["MembershipRecord", "WorkspaceRecord", "WorkspaceRepository"]


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
