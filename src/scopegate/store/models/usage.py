"""What guards report of their traffic, and the audience mode an operator chose (issue 15).

``usage_counts`` holds aggregated counts per hour, never a token or request data: which
client (and API key) called which resource, with which SDK product and version, whether
the token carried the resource's audience, and which scopes the route needed.
``audience_modes`` holds the operator's choice per resource (off / warn / enforce); a guard
follows it (``guard/usage.py``) instead of its own configured mode while one is set.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime

__all__ = ["AudienceModeChoice", "UsageCount"]


class UsageCount(Base):
    """Requests that passed a guard in one hour, for one combination of the fields."""

    __tablename__ = "usage_counts"
    __table_args__ = (
        sa.UniqueConstraint("resource", "hour", "client_id", "key_id", "sdk", "sdk_version",
                            "audience_ok", "scopes", name="uq_usage_counts_bucket"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                    primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(sa.String(512), nullable=False)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    client_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    key_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    sdk: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    sdk_version: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    audience_ok: Mapped[bool] = mapped_column(sa.Boolean(), nullable=False)
    scopes: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    count: Mapped[int] = mapped_column(sa.BigInteger(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AudienceModeChoice(Base):
    """The audience mode an operator set for a resource, and who set it when."""

    __tablename__ = "audience_modes"

    resource: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    changed_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
