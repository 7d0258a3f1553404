"""People and what they granted: users, workspaces, memberships, consents, and the
interactive grants' state (authorization codes, device codes, refresh tokens).

Every secret (code, device code, user code, refresh token) is stored only as its
SHA-256 hex digest. Scope columns hold sorted lists of canonical names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column

from .base import Base, UTCDateTime, created_at_column

__all__ = [
    "AuthorizationCode",
    "Consent",
    "DeviceCode",
    "Membership",
    "RefreshToken",
    "User",
    "Workspace",
]

_HASH = sa.String(64)  # sha256 hex
_ID = sa.String(40)  # "usr_…", "ws_…", "fam_…"


def _session_id(**options: Any) -> MappedColumn[Any]:
    """The browser session (``ses_…``) that approved a grant; the tokens minted from it
    carry it as ``sid``. No foreign key: the id outlives its row, so ending the session
    can still find (and revoke) what it approved."""
    return mapped_column(_ID, nullable=True, **options)


def _user_id(**options: Any) -> MappedColumn[Any]:
    """A user's id; deleting the user deletes the row."""
    return mapped_column(_ID, sa.ForeignKey("users.id", ondelete="CASCADE"), **options)


def _client_id(**options: Any) -> MappedColumn[Any]:
    """A client's id (255: a client-id metadata document's URL); deleting the client
    deletes the row."""
    return mapped_column(sa.String(255), sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
                         **options)


class User(Base):
    """A person who logs in; ``role`` names a catalog role that caps their tokens.

    A user with ``disabled_at`` set cannot sign in or use the tokens they were given.
    """

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False, unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # An operator of this scopegate (the /admin console), apart from the catalog role.
    is_operator: Mapped[bool] = mapped_column(sa.Boolean(), nullable=False, default=False,
                                              server_default=sa.false())


class Workspace(Base):
    """A tenant that users belong to."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    created_at: Mapped[datetime] = created_at_column()


class Membership(Base):
    """A user's role in one workspace."""

    __tablename__ = "memberships"

    user_id: Mapped[str] = _user_id(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Consent(Base):
    """The scopes a user has granted a client so far (the union of every approval)."""

    __tablename__ = "consents"

    user_id: Mapped[str] = _user_id(primary_key=True)
    client_id: Mapped[str] = _client_id(primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    updated_at: Mapped[datetime] = created_at_column()


class AuthorizationCode(Base):
    """An authorization code bound to client, redirect URI and PKCE challenge.

    ``used_at`` marks the single use; the tokens minted from it are remembered
    (``refresh_family_id``, ``access_jti``) so a replay can revoke them. ``replayed_at``
    marks the first replay, so an exchange still minting tokens when the replay arrives
    sees it and revokes what it minted instead of handing it out. ``session_id`` is the
    browser session that approved it.
    """

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(_HASH, primary_key=True)
    client_id: Mapped[str] = _client_id(nullable=False)
    user_id: Mapped[str] = _user_id(nullable=False)
    redirect_uri: Mapped[str] = mapped_column(sa.String(2000), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    resources: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    code_challenge: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    code_challenge_method: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    nonce: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    session_id: Mapped[str | None] = _session_id()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refresh_family_id: Mapped[str | None] = mapped_column(_ID, nullable=True)
    access_jti: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class DeviceCode(Base):
    """A device authorization (RFC 8628): pending, then approved or denied, then used;
    ``session_id`` is the browser session that approved (or denied) the user code."""

    __tablename__ = "device_codes"

    device_code_hash: Mapped[str] = mapped_column(_HASH, primary_key=True)
    user_code_hash: Mapped[str] = mapped_column(_HASH, nullable=False, unique=True)
    client_id: Mapped[str] = _client_id(nullable=False)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    resources: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    user_id: Mapped[str | None] = _user_id(nullable=True)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    session_id: Mapped[str | None] = _session_id()
    interval: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    created_at: Mapped[datetime] = created_at_column()


class RefreshToken(Base):
    """One refresh token of a rotation family; only the newest unrotated one is live.

    ``scopes`` is the family's original grant (a refresh may ask for less, never more).
    ``access_jti`` is the access token issued with it, deny-listed if the family is revoked.
    ``dpop_jkt`` is the DPoP key (RFC 7638 thumbprint) a public client's family is bound to.
    ``session_id`` is the browser session the family was approved in (None for none):
    ending that session revokes the family (indexed for that).
    """

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(_HASH, primary_key=True)
    family_id: Mapped[str] = mapped_column(_ID, nullable=False, index=True)
    parent_hash: Mapped[str | None] = mapped_column(_HASH, nullable=True)
    client_id: Mapped[str] = _client_id(nullable=False)
    user_id: Mapped[str] = _user_id(nullable=False, index=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    resources: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    session_id: Mapped[str | None] = _session_id(index=True)
    access_jti: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Indexed for the maintenance pass, which looks for families whose tokens all expired.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    dpop_jkt: Mapped[str | None] = mapped_column(sa.String(43), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
