"""Pushed authorization requests (RFC 9126): ``pushed_authorization_requests``.

One row per ``request_uri`` (its SHA-256), the parameters pushed, a short deadline, and
when the request was first opened and finally used (single use, on every replica).

Revision ID: 0014_pushed_requests
Revises: 0013_dpop
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scopegate.store.models.base import UTCDateTime

revision = "0014_pushed_requests"
down_revision = "0013_dpop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushed_authorization_requests",
        sa.Column("request_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(255),
                  sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_pushed_authorization_requests_expires_at",
                    "pushed_authorization_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_pushed_authorization_requests_expires_at",
                  "pushed_authorization_requests")
    op.drop_table("pushed_authorization_requests")
