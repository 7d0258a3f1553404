"""What the API key repository hands out: frozen records of key rows, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..models.api_keys import ApiKey

__all__ = ["ApiKeyError", "ApiKeyNotFound", "ApiKeyRecord", "KeyStatus", "VerifiedApiKey"]

KeyStatus = Literal["active", "expired", "revoked"]


class ApiKeyError(ValueError):
    """A key operation cannot be done; the message is safe to show the caller."""


class ApiKeyNotFound(ApiKeyError):
    """No such key (or it belongs to someone else, which is reported the same way)."""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An immutable copy of a key row: everything but the hashes."""

    id: str
    user_id: str
    workspace_id: str | None
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    rotated_at: datetime | None
    previous_expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKey) -> ApiKeyRecord:
        """Snapshot an ORM row (the hashes stay behind)."""
        return cls(
            id=row.id, user_id=row.user_id, workspace_id=row.workspace_id, name=row.name,
            prefix=row.prefix, scopes=tuple(row.scopes), created_at=row.created_at,
            expires_at=row.expires_at, last_used_at=row.last_used_at,
            rotated_at=row.rotated_at, previous_expires_at=row.previous_expires_at,
            revoked_at=row.revoked_at,
        )

    def status(self, now: datetime) -> KeyStatus:
        """Whether the key can be used at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class VerifiedApiKey:
    """A presented key that is valid now, with the roles that cap its scopes."""

    record: ApiKeyRecord
    owner_role: str
    workspace_role: str | None
    matched_previous: bool

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role the key's scopes must stay within."""
        return (self.owner_role,) if self.workspace_role is None else (
            self.owner_role, self.workspace_role)
