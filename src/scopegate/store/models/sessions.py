"""Browser sessions of the login pages: one row per signed-in browser.

The cookie holds a random token; only its SHA-256 hex digest is stored, so a copy of
the database signs nobody in. ``id`` is the public handle an admin names to end one.
``expires_at`` is the earlier of the idle and the absolute deadline as of the last
write, so the pruning pass finds dead rows by one indexed column.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, created_at_column

__all__ = ["UserSession"]


class UserSession(Base):
    """A signed-in browser; deleting the row signs out every copy of its cookie."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
        index=True)
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    client_ip: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
