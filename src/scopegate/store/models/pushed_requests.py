"""Pushed authorization requests (RFC 9126): one row per ``request_uri`` handed out.

Only the SHA-256 of the ``request_uri``'s random part is stored, so a copy of the
database cannot be replayed at the authorization endpoint. The row holds the request's
parameters as pushed (already validated once; checked again when used). ``expires_at``
starts at push + ``par_ttl`` and is moved once, when a browser first arrives with the
``request_uri``, to cover the sign-in and consent pages; ``used_at`` marks the one
authorization decided with it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, created_at_column

__all__ = ["PushedRequest"]


class PushedRequest(Base):
    """A pushed authorization request, usable for one authorization."""

    __tablename__ = "pushed_authorization_requests"

    request_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        sa.String(255), sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
        nullable=False)
    params: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
