"""Signing keys, server secrets and the deny-list of revoked token ids."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, created_at_column

__all__ = ["RevokedToken", "ServerSecret", "SigningKey"]


class SigningKey(Base):
    """A JWS signing key; ``alg`` is pinned per key.

    The newest key with ``retired_at`` unset signs. A retired key stays published in
    JWKS until ``publish_until`` (when the last token it signed has expired).
    ``private_pem`` holds the PEM sealed under the key-encryption key (``sg-kek:v1:...``,
    see :mod:`scopegate.store.sealing`), never the PEM itself.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    private_pem: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ServerSecret(Base):
    """A named server secret generated once (the client-secret pepper, the session key);
    ``value`` is sealed under the key-encryption key."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class RevokedToken(Base):
    """A revoked JWT id, kept until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
