"""OAuth clients: registered with ``scopegate clients create``, by themselves (RFC 7591), or
known by the URL of their client ID metadata document."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, created_at_column

__all__ = ["Client"]


class Client(Base):
    """One OAuth client; scopes and grant types are JSON lists of canonical names.

    ``secret_hash`` is the HMAC-SHA-256 of the secret under the server pepper; it is None
    for public clients, which cannot authenticate at the token endpoint.
    ``resource_servers`` lists the resource identifiers (RFC 8707) the client serves as a
    resource server: introspection tells it about tokens meant for them (NULL: none).

    A client that registered itself (``registered_dynamically``) also keeps the SHA-256 of
    its RFC 7592 registration access token, the RFC 7591 metadata it sent that has no
    column of its own (``client_metadata``: ``client_uri``, ``logo_uri``, ``contacts``…),
    and when it last obtained a token (``last_used_at``), so unused ones can be pruned.
    ``client_id`` is up to 255 characters: a client ID metadata document's URL is one.
    """

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    secret_hash: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    is_public: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    grant_types: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    allowed_scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    default_scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    resource_servers: Mapped[list[str] | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    registered_dynamically: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false())
    registration_token_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    client_metadata: Mapped[dict[str, object] | None] = mapped_column(sa.JSON, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
