"""The operator console: operators, usage reported by guards, audience modes per resource.

Revision ID: 0016_console
Revises: 0015_session_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scopegate.store.models.base import UTCDateTime

revision = "0016_console"
down_revision = "0015_session_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("is_operator", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_table(
        "usage_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("resource", sa.String(512), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False, index=True),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("sdk", sa.String(64), nullable=False),
        sa.Column("sdk_version", sa.String(32), nullable=False),
        sa.Column("audience_ok", sa.Boolean(), nullable=False),
        sa.Column("scopes", sa.String(1000), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("resource", "hour", "client_id", "key_id", "sdk", "sdk_version",
                            "audience_ok", "scopes", name="uq_usage_counts_bucket"),
    )
    op.create_table(
        "audience_modes",
        sa.Column("resource", sa.String(512), primary_key=True),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("audience_modes")
    op.drop_table("usage_counts")
    op.drop_column("users", "is_operator")
