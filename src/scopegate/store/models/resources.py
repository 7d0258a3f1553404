"""Resource servers registered with ``scopegate resources add``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at_column

__all__ = ["ResourceServer"]


class ResourceServer(Base):
    """One resource server: its RFC 8707 identifier, a name, the canonical scopes it offers.

    The catalog's static audiences are not rows: they exist from the start.
    """

    __tablename__ = "resources"

    identifier: Mapped[str] = mapped_column(sa.String(2000), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = created_at_column()
