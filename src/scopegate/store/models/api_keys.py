"""API keys: a public key id, the SHA-256 of the secret, canonical scopes and lifecycle."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, created_at_column

__all__ = ["ApiKey"]


class ApiKey(Base):
    """One API key of a user; the key string itself is never stored.

    ``id`` is the public key id embedded in the key (``<prefix>_<id><secret>_<crc>``), so a
    presented key is found with one primary-key read. ``key_hash`` is the SHA-256 of the
    current key. After a rotation ``previous_hash`` keeps the old key working until
    ``previous_expires_at`` (the grace period). ``scopes`` holds sorted canonical names; an
    empty list predates scopes and is read through ``Catalog.stored_key_scopes``.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    workspace_id: Mapped[str | None] = mapped_column(
        sa.String(40), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    previous_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
