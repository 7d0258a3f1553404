"""Read and write OAuth clients; callers get frozen :class:`ClientRecord` snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ...scopes import ScopeSet
from ..db import Database
from ..models import Client

__all__ = ["ClientRecord", "ClientRepository"]


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """An immutable copy of a client row, safe to cache and share between requests."""

    client_id: str
    name: str
    secret_hash: str | None
    is_public: bool
    grant_types: frozenset[str]
    redirect_uris: tuple[str, ...]
    allowed_scopes: frozenset[str]
    default_scopes: frozenset[str]
    created_at: datetime
    resource_servers: frozenset[str] = frozenset()

    @classmethod
    def from_row(cls, row: Client) -> ClientRecord:
        """Snapshot an ORM row."""
        return cls(
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.secret_hash,
            is_public=row.is_public,
            grant_types=frozenset(row.grant_types),
            redirect_uris=tuple(row.redirect_uris),
            allowed_scopes=frozenset(row.allowed_scopes),
            default_scopes=frozenset(row.default_scopes),
            created_at=row.created_at,
            resource_servers=frozenset(row.resource_servers or ()),
        )


class ClientRepository:
    """Client rows in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        *,
        client_id: str,
        name: str,
        secret_hash: str | None,
        grant_types: Iterable[str],
        allowed_scopes: Iterable[str],
        default_scopes: Iterable[str],
        redirect_uris: Iterable[str] = (),
        resource_servers: Iterable[str] = (),
    ) -> ClientRecord:
        """Insert a client; scopes must already be canonical names.

        :param resource_servers: resource identifiers the client serves (introspection).
        """
        served = sorted(set(resource_servers))
        row = Client(
            client_id=client_id,
            name=name,
            secret_hash=secret_hash,
            is_public=secret_hash is None,
            grant_types=sorted(set(grant_types)),
            redirect_uris=list(dict.fromkeys(redirect_uris)),
            allowed_scopes=ScopeSet(allowed_scopes).to_list(),
            default_scopes=ScopeSet(default_scopes).to_list(),
            resource_servers=served or None,
        )
        with self.db.session() as session:
            session.add(row)
            session.flush()
            return ClientRecord.from_row(row)

    def get(self, client_id: str) -> ClientRecord | None:
        """Return the client, or None."""
        with self.db.session() as session:
            row = session.get(Client, client_id)
            return ClientRecord.from_row(row) if row is not None else None

    def list(self) -> list[ClientRecord]:
        """Every client, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(Client).order_by(Client.created_at,
                                                              Client.client_id))
            return [ClientRecord.from_row(row) for row in rows]

    def set_secret_hash(self, client_id: str, secret_hash: str) -> bool:
        """Replace a confidential client's secret hash; return whether it was updated."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(Client)
                .where(Client.client_id == client_id, Client.is_public.is_(False))
                .values(secret_hash=secret_hash))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete(self, client_id: str) -> bool:
        """Delete a client; return whether it existed."""
        with self.db.session() as session:
            result = session.execute(sa.delete(Client).where(Client.client_id == client_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]
