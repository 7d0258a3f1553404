"""Clients that register themselves (RFC 7591/7592) or are named by a metadata document URL.

``clients`` gains what a self-registered client needs: ``registered_dynamically``, the
SHA-256 of its registration access token (RFC 7592), the RFC 7591 metadata it sent that
has no column of its own, and ``last_used_at`` (unused registrations are pruned).
``client_id`` widens to 255 characters, in ``clients`` and in every table that refers to
it, since a client ID metadata document's https URL is the client's id. SQLite does not
enforce a VARCHAR length, so only PostgreSQL's columns are altered.

Revision ID: 0009_registration
Revises: 0008_resources
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scopegate.store.models.base import UTCDateTime

revision = "0009_registration"
down_revision = "0008_resources"
branch_labels = None
depends_on = None

_REFERRING = ("consents", "authorization_codes", "refresh_tokens", "device_codes")


def _set_client_id_length(length: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("clients", *_REFERRING):
        op.alter_column(table, "client_id", type_=sa.String(length))


def upgrade() -> None:
    op.add_column("clients", sa.Column("registered_dynamically", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("clients", sa.Column("registration_token_hash", sa.String(64),
                                       nullable=True))
    op.add_column("clients", sa.Column("client_metadata", sa.JSON(), nullable=True))
    op.add_column("clients", sa.Column("last_used_at", UTCDateTime(), nullable=True))
    _set_client_id_length(255)


def downgrade() -> None:
    # Clients whose id no longer fits (metadata document URLs) cannot survive the downgrade.
    op.execute(sa.text("DELETE FROM clients WHERE length(client_id) > 64"))
    _set_client_id_length(64)
    for column in ("last_used_at", "client_metadata", "registration_token_hash",
                   "registered_dynamically"):
        op.drop_column("clients", column)
