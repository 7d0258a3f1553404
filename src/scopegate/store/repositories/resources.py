"""Read and write registered resource servers; callers get frozen :class:`ResourceRecord`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ...scopes import ScopeSet
from ..db import Database
from ..models import ResourceServer

__all__ = ["DuplicateResource", "ResourceRecord", "ResourceRepository"]


class DuplicateResource(Exception):
    """A resource with this identifier is registered already."""


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    """An immutable copy of a resource row, safe to cache and share between requests."""

    identifier: str
    name: str
    scopes: frozenset[str]
    created_at: datetime

    @classmethod
    def from_row(cls, row: ResourceServer) -> ResourceRecord:
        """Snapshot an ORM row."""
        return cls(row.identifier, row.name, frozenset(row.scopes), row.created_at)


class ResourceRepository:
    """Resource rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, identifier: str, name: str, scopes: Iterable[str]) -> ResourceRecord:
        """Insert a resource; scopes must already be canonical names.

        :raises DuplicateResource: the identifier is taken (checked by the primary key, so
            two concurrent adds cannot both succeed).
        """
        row = ResourceServer(identifier=identifier, name=name,
                             scopes=ScopeSet(scopes).to_list())
        try:
            with self.db.session() as session:
                session.add(row)
                session.flush()
                return ResourceRecord.from_row(row)
        except sa.exc.IntegrityError:
            raise DuplicateResource(identifier) from None

    def get(self, identifier: str) -> ResourceRecord | None:
        """Return the resource, or None."""
        with self.db.session() as session:
            row = session.get(ResourceServer, identifier)
            return ResourceRecord.from_row(row) if row is not None else None

    def list(self) -> list[ResourceRecord]:
        """Every registered resource, by identifier."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(ResourceServer)
                                   .order_by(ResourceServer.identifier))
            return [ResourceRecord.from_row(row) for row in rows]

    def delete(self, identifier: str) -> bool:
        """Delete a resource; return whether it existed."""
        with self.db.session() as session:
            result = session.execute(sa.delete(ResourceServer)
                                     .where(ResourceServer.identifier == identifier))
            return bool(result.rowcount)  # type: ignore[attr-defined]
