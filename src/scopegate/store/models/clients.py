"""OAuth clients registered with ``scopegate clients create``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at_column

__all__ = ["Client"]


class Client(Base):
    """One OAuth client; scopes and grant types are JSON lists of canonical names.

    ``secret_hash`` is the HMAC-SHA-256 of the secret under the server pepper; it is None
    for public clients, which cannot authenticate at the token endpoint.
    ``resource_servers`` lists the resource identifiers (RFC 8707) the client serves as a
    resource server: introspection tells it about tokens meant for them (NULL: none).
    """

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    secret_hash: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    is_public: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    grant_types: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    allowed_scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    default_scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    resource_servers: Mapped[list[str] | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
