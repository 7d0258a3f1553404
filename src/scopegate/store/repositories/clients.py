"""Read and write OAuth clients; callers get frozen :class:`ClientRecord` snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from ...scopes import ScopeSet
from ..db import Database
from ..models import Client
from ._prune import delete_in_batch

__all__ = ["ClientRecord", "ClientRepository", "Registration"]


@dataclass(frozen=True, slots=True)
class Registration:
    """What a self-registered client (RFC 7591) keeps besides the usual columns.

    :param token_hash: SHA-256 hex of its registration access token (RFC 7592), or None
        for a client known by its metadata document URL (it has no such token).
    :param metadata: the RFC 7591 members without a column of their own.
    """

    token_hash: str | None
    metadata: Mapping[str, Any] = field(default_factory=dict)


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
    registered_dynamically: bool = False
    registration_token_hash: str | None = None
    client_metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    last_used_at: datetime | None = None

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
            registered_dynamically=bool(row.registered_dynamically),
            registration_token_hash=row.registration_token_hash,
            client_metadata=MappingProxyType(dict(row.client_metadata or {})),
            last_used_at=row.last_used_at,
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
        registration: Registration | None = None,
    ) -> ClientRecord:
        """Insert a client; scopes must already be canonical names.

        :param resource_servers: resource identifiers the client serves (introspection).
        :param registration: set for a client that registered itself (RFC 7591).
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
        if registration is not None:
            row.registered_dynamically = True
            row.registration_token_hash = registration.token_hash
            row.client_metadata = dict(registration.metadata)
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

    def set_scopes(self, client_id: str, allowed: Iterable[str]) -> ClientRecord | None:
        """Narrow what a client may request to ``allowed`` (its defaults keep only those);
        None if it is gone."""
        keep = frozenset(allowed)
        with self.db.session() as session:
            row = session.get(Client, client_id)
            if row is None:
                return None
            row.allowed_scopes = ScopeSet(keep).to_list()
            row.default_scopes = ScopeSet(set(row.default_scopes) & keep).to_list()
            session.flush()
            return ClientRecord.from_row(row)

    def delete(self, client_id: str) -> bool:
        """Delete a client; return whether it existed."""
        with self.db.session() as session:
            result = session.execute(sa.delete(Client).where(Client.client_id == client_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def replace_registered(self, client_id: str, *, name: str, grant_types: Iterable[str],
                           redirect_uris: Iterable[str], allowed_scopes: Iterable[str],
                           default_scopes: Iterable[str], metadata: Mapping[str, Any]
                           ) -> ClientRecord | None:
        """Replace a self-registered client's metadata (RFC 7592 §2.2); None if it is gone."""
        with self.db.session() as session:
            row = session.get(Client, client_id)
            if row is None or not row.registered_dynamically:
                return None
            row.name = name
            row.grant_types = sorted(set(grant_types))
            row.redirect_uris = list(dict.fromkeys(redirect_uris))
            row.allowed_scopes = ScopeSet(allowed_scopes).to_list()
            row.default_scopes = ScopeSet(default_scopes).to_list()
            row.client_metadata = dict(metadata)
            session.flush()
            return ClientRecord.from_row(row)

    def mark_used(self, client_id: str, when: datetime) -> None:
        """Record that a self-registered client obtained a token at ``when``."""
        with self.db.session() as session:
            session.execute(sa.update(Client).where(Client.client_id == client_id)
                            .values(last_used_at=when))

    def prune_unused(self, cutoff: datetime, limit: int) -> int:
        """Delete self-registered public clients unused since ``cutoff`` (never used: since
        they registered); return how many (at most ``limit``)."""
        return delete_in_batch(
            self.db, Client.client_id, Client.registered_dynamically.is_(True),
            Client.is_public.is_(True),
            sa.func.coalesce(Client.last_used_at, Client.created_at) < cutoff, limit=limit)
